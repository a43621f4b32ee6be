"""The ``anyshot`` command line.

Every option value is checked before any data is read: a bad value ends in one line naming the
option and what it accepts, exit code 2, no traceback. Training commands take ``--threads``
(default: automatic, see :func:`anyshot.utils.resolve_threads`). Ctrl-C ends with exit code 130
and, for ``train --out DIR``, the command that resumes the run.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer
import yaml
from typer.core import TyperCommand, TyperGroup

from anyshot.errors import AnyShotError, ConfigError


class _HelpRows:
    """Help rows without a type for flags: ``--help`` and ``--zsl`` take no value, so their
    rows must not read ``--help <bool>``."""

    def get_help_option(self, ctx):  # type: ignore[no-untyped-def]
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option

    def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
        for param in self.params:  # type: ignore[attr-defined]
            if getattr(param, "is_flag", False):
                param.metavar = ""
        return super().format_help(ctx, formatter)  # type: ignore[misc]


class _Command(_HelpRows, TyperCommand):
    pass


class _Group(_HelpRows, TyperGroup):
    pass


app = typer.Typer(add_completion=False, no_args_is_help=True, cls=_Group,
                  context_settings={"show_default": True},
                  help=("Generative any-shot learning: ZSL, GZSL, FSL and GFSL with honest "
                        "evaluation."))


def command(name: str | None = None):  # type: ignore[no-untyped-def]
    """``app.command`` with the help rows above."""
    return app.command(name, cls=_Command)


_FROM_CONFIG = "from the config"
_THREADS_HELP = ("CPU threads: 0 = every core; default: 1 for networks narrower than 1024, "
                 "else every core (OMP_NUM_THREADS, when set, is kept)")


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@contextlib.contextmanager
def _errors(resume_dir: Path | None = None, resumable: bool = False) -> Iterator[None]:
    """Turn anyshot's errors into one-line messages (exit 2) and Ctrl-C into exit 130, naming
    the resume command when the interrupted run can be resumed."""
    try:
        yield
    except AnyShotError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        if resumable and resume_dir is not None and (resume_dir / "config.yaml").is_file():
            msg = (f"interrupted; the run in {resume_dir} keeps its checkpoints. Continue it "
                   f"with: anyshot train --resume {resume_dir}")
        elif resumable:
            msg = ("interrupted; nothing was saved (give --out DIR to make a run resumable with "
                   "anyshot train --resume DIR)")
        else:
            msg = "interrupted"
        typer.secho(msg, fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130)


# ---------------------------------------------------------------------------------- value checks
def _choice(option: str, value: str | None, choices) -> None:
    if value is not None and value not in choices:
        raise ConfigError(f"{option} {value!r} is unknown; choose one of {', '.join(choices)}.")


def _at_least(option: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        raise ConfigError(f"{option} must be an integer >= {low}, got {value}.")


def _device(value: str | None) -> None:
    from anyshot.utils import DEVICES, resolve_device

    if value is None:
        return
    if value not in DEVICES and not re.fullmatch(r"cuda(:\d+)?", value):
        raise ConfigError(f"--device {value!r} is unknown; choose one of {', '.join(DEVICES)} "
                          "(or cuda:N).")
    resolve_device(value)  # cuda without a GPU: a clear error now, not after loading data


def _threads(value: int | None) -> None:
    _at_least("--threads", value, 0)


def _seed_list(text: str, option: str = "--seeds") -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ConfigError(f"{option} takes comma-separated integers >= 0, e.g. 0,1,2; "
                          f"got {text!r}.")
    if len(set(parts)) != len(parts):
        raise ConfigError(f"{option} lists a seed twice ({text!r}); give each seed once.")
    return [int(p) for p in parts]


def _yaml_value(text: str) -> Any:
    """A --set value: YAML, with numbers YAML 1.1 reads as strings (``1e-3``) read as numbers."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value)
            if math.isfinite(number) and re.fullmatch(r"[+-]?[\d.]+(e[+-]?\d+)?", value, re.I):
                return number
    return value


def _parse_sets(sets: list[str]) -> dict:
    out = {}
    for item in sets:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", key):
            raise ConfigError(f"--set takes KEY=VALUE with a dotted key, e.g. "
                              f"method.params.epochs=10; got {item!r}.")
        try:
            out[key] = _yaml_value(value)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"--set {key}: the value {value!r} is not valid YAML ({first}); "
                              "quote it, e.g. --set 'data.params.path=\"my file.yaml\"'.") from exc
    return out


def _looks_like_manifest(raw: Any) -> bool:
    from anyshot.data.manifest import MANIFEST_KEYS

    return (isinstance(raw, dict) and {"features", "attributes"} & set(raw)
            and set(raw) <= set(MANIFEST_KEYS))


def _check_config_source(config: str, option: str = "--config") -> None:
    """A data manifest or a non-mapping given as a config: say what to do instead."""
    path = Path(config)
    if not path.is_file():
        return  # a preset name, or load_config's "does not exist" error
    if path.stat().st_size == 0:
        raise ConfigError(f"{option} {config!r} is an empty file; give an experiment config "
                          "(see `anyshot presets` for examples).")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{option} {config!r} is not valid YAML ({first}).") from exc
    if _looks_like_manifest(raw):
        raise ConfigError(
            f"{option} {config!r} is a data manifest, not an experiment config; train on it with "
            f"--config clswgan/synthetic "
            f"--set data='{{name: manifest, params: {{path: {config}}}}}'"
            f", or check it with `anyshot validate {config}`.")
    if not isinstance(raw, dict):
        raise ConfigError(f"{option} {config!r} must be a YAML mapping with sections data, method, "
                          f"objective, evaluation; it holds a {type(raw).__name__}.")


def _load(config: str, overrides: dict) -> Any:
    from anyshot.config import load_config

    _check_config_source(config)
    return load_config(config, overrides)


def _check_out(out: Path | None, option: str = "--out") -> None:
    """An output folder must not be a file nor hold a finished or started run."""
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {str(out)!r} is a file; give a folder for the run.")
    if (out / "results.jsonl").is_file() or any(out.glob("seed_*")):
        raise ConfigError(f"{option} {str(out)!r} already holds a run; continue it with "
                          f"`anyshot train --resume {out}`, or choose another folder.")


def _table_file(option: str, path: Path | None) -> None:
    from anyshot.data.manifest import TABLE_SUFFIXES

    if path is None:
        return
    if not path.exists():
        raise ConfigError(f"{option}: file {str(path)!r} does not exist; check the path.")
    if not path.is_file():
        raise ConfigError(f"{option}: {str(path)!r} is a folder; give a CSV, NPY or Parquet file.")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(f"{option}: {str(path)!r} has an unsupported type {path.suffix!r}; use "
                          f"one of {', '.join(TABLE_SUFFIXES)}.")
    if path.stat().st_size == 0:
        raise ConfigError(f"{option}: file {str(path)!r} is empty.")


def _width(cfg: Any) -> int:
    """The widest network of an experiment config (sets the automatic thread count)."""
    from anyshot.methods import make_method
    from anyshot.utils import network_width

    return network_width(make_method(cfg.method.name, cfg.method.params).config)


def _threads_for(configs: list, threads: int | None) -> contextlib.AbstractContextManager:
    from anyshot.utils import limit_threads

    chosen = threads if threads is not None else next(
        (c.threads for c in configs if c.threads is not None), None)
    return limit_threads(chosen, max(_width(c) for c in configs))


# ---------------------------------------------------------------------------------- commands
def _run(configs: list, title: str, run_dir: Optional[Path], quiet: bool, resume: bool = False,
         threads: int | None = None) -> list:
    from anyshot.experiment import prepare_data, run_experiment
    from anyshot.reporting import console, progress_bar, result_lines, results_table

    results = []
    with _threads_for(configs, threads), progress_bar(None if not quiet else False) as progress:
        for cfg in configs:
            data = prepare_data(cfg)
            sub = None
            if run_dir is not None:
                sub = run_dir if len(configs) == 1 else run_dir / cfg.method.name
            results += run_experiment(cfg, progress, data=data, run_dir=sub, resume=resume)
    for line in result_lines(results):
        console.print(line, highlight=False, soft_wrap=True)
    console.print(results_table(results, title=title))
    return results


@command()
def demo(
    seeds: Annotated[int, typer.Option(help="number of seeds (mean +- std over them)")] = 1,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    out: Annotated[Optional[Path], typer.Option(help="write a run directory here")] = None,
    threads: Annotated[
        Optional[int],
        typer.Option(help=_THREADS_HELP, show_default="automatic"),
    ] = None,
) -> None:
    """Train f-CLSWGAN and the attribute-regression floor on the embedded synthetic benchmark."""
    from anyshot.config import load_config

    with _errors():
        _at_least("--seeds", seeds, 1)
        _device(device)
        _threads(threads)
        _check_out(out)
        overrides = {"evaluation.seeds": list(range(seeds)), "device": device}
        configs = [load_config(p, overrides) for p in ("attribute-regression/synthetic",
                                                       "clswgan/synthetic")]
        typer.echo("anyshot demo: synthetic benchmark (20 classes, 5 unseen; chance ZSL = 20.0%), "
                   "honest protocol (epochs chosen on validation classes carved from seen ones)")
        t0 = time.perf_counter()
        _run(configs, "anyshot demo (accuracy %, mean +- std over seeds)", out, quiet=False,
             threads=threads)
        typer.echo(f"done in {time.perf_counter() - t0:.1f} s")


@command()
def train(
    config: Annotated[
        Optional[str],
        typer.Option("--config", "-c", help="YAML file or preset name (see `anyshot presets`)"),
    ] = None,
    resume: Annotated[
        Optional[Path],
        typer.Option(help="continue the interrupted run in this directory"),
    ] = None,
    seeds: Annotated[
        Optional[str],
        typer.Option(help="comma-separated seeds, e.g. 0,1,2", show_default=_FROM_CONFIG),
    ] = None,
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu | cuda | auto", show_default=_FROM_CONFIG),
    ] = None,
    objective: Annotated[
        Optional[str],
        typer.Option(
            help="adversarial objective: wgan | wgan-gp | ebgan",
            show_default=_FROM_CONFIG,
        ),
    ] = None,
    protocol: Annotated[
        Optional[str],
        typer.Option(
            help="honest | fixed | test-selection (peeks at test)",
            show_default=_FROM_CONFIG,
        ),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            help="run directory for results and models",
            show_default="none: nothing saved",
        ),
    ] = None,
    amp: Annotated[
        Optional[str],
        typer.Option(
            help="none | bf16: bfloat16 autocast of training and synthesis (method.params.amp)",
            show_default=_FROM_CONFIG,
        ),
    ] = None,
    patience: Annotated[
        Optional[int],
        typer.Option(
            help=(
                "early stopping: end the validation run after N evaluations without a new best "
                "(evaluation.patience)"
            ),
            show_default=_FROM_CONFIG,
        ),
    ] = None,
    threads: Annotated[
        Optional[int],
        typer.Option(help=_THREADS_HELP + " (config key threads)", show_default="automatic"),
    ] = None,
    set_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="override a config key: KEY=VALUE (YAML value)",
            show_default="none",
        ),
    ] = None,
) -> None:
    """Train and test one config (every seed), print the table, write a run directory."""
    from anyshot.evaluation.protocols import PROTOCOLS
    from anyshot.methods.base import AMP_MODES
    from anyshot.objectives import OBJECTIVES

    run_dir = resume if resume is not None else out
    with _errors(run_dir, resumable=True):
        overrides = _parse_sets(set_ or [])
        if seeds is not None:
            overrides["evaluation.seeds"] = _seed_list(seeds)
        _device(device)
        _choice("--objective", objective, sorted(OBJECTIVES))
        _choice("--protocol", protocol, PROTOCOLS)
        _choice("--amp", amp, AMP_MODES)
        _at_least("--patience", patience, 1)
        _threads(threads)
        for key, value in (("device", device), ("objective.name", objective),
                           ("evaluation.protocol", protocol), ("method.params.amp", amp),
                           ("evaluation.patience", patience), ("threads", threads)):
            if value is not None:
                overrides[key] = value
        if resume is not None:
            if config is not None or out is not None:
                raise ConfigError("--resume takes the config and output folder of the run; "
                                  "drop --config and --out.")
            if not (resume / "config.yaml").is_file():
                raise ConfigError(f"--resume {str(resume)!r} holds no run (no config.yaml) to "
                                  "resume; start one with `anyshot train --config ... --out DIR`.")
            config = str(resume / "config.yaml")
        else:
            _check_out(out)
        if config is None:
            raise ConfigError("give --config FILE (or a preset name, see `anyshot presets`), or "
                              "--resume RUN_DIR.")
        cfg = _load(config, overrides)
        _run([cfg], f"{cfg.method.name} on {cfg.data.name}", run_dir, quiet=False,
             resume=resume is not None, threads=threads)
        if run_dir is not None:
            typer.echo(f"run directory: {run_dir}")


ABLATIONS = {
    "full": {},
    "no-mapping": {"use_mapping": False},
    "no-center-loss": {"use_center_loss": False},
    "no-bias-elimination": {"use_bias_elimination": False},
    "no-alignment": {"use_alignment": False},
    "single-head": {"single_head": True},
}


@command()
def ablate(
    config: Annotated[
        str,
        typer.Option("--config", "-c", help="an SRWGAN config or preset, e.g. srwgan/synthetic"),
    ],
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    variants: Annotated[
        str,
        typer.Option(help="comma-separated subset of: " + ", ".join(ABLATIONS)),
    ] = ",".join(ABLATIONS),
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu | cuda | auto", show_default=_FROM_CONFIG),
    ] = None,
    threads: Annotated[
        Optional[int],
        typer.Option(help=_THREADS_HELP, show_default="automatic"),
    ] = None,
    set_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="override a config key: KEY=VALUE (YAML value)",
            show_default="none",
        ),
    ] = None,
) -> None:
    """Run the standard SRWGAN ablation set (one switch off at a time) over seeds."""
    from anyshot.experiment import prepare_data, run_experiment
    from anyshot.reporting import console, progress_bar, results_table

    with _errors():
        overrides = _parse_sets(set_ or [])
        overrides["evaluation.seeds"] = _seed_list(seeds)
        _device(device)
        _threads(threads)
        if device:
            overrides["device"] = device
        names = [v.strip() for v in variants.split(",")]
        unknown = [v for v in names if v not in ABLATIONS]
        if unknown:
            raise ConfigError(f"--variants: unknown ablation(s) {unknown}; valid: "
                              f"{', '.join(ABLATIONS)}.")
        base = _load(config, overrides)
        if base.method.name != "srwgan":
            raise ConfigError(f"--config {config!r} trains {base.method.name!r}; ablate switches "
                              "SRWGAN's parts off, so give an SRWGAN config, "
                              "e.g. srwgan/synthetic.")
        cfgs = [_load(config, {**overrides, **{f"method.params.{k}": v
                                               for k, v in ABLATIONS[name].items()}})
                for name in names]
        results = []
        with _threads_for([base], threads), progress_bar() as progress:
            data = prepare_data(base)
            for name, cfg in zip(names, cfgs):
                for r in run_experiment(cfg, progress, data=data):
                    r.method = f"{r.method} ({name})"
                    results.append(r)
                    console.print(f"{r.method} seed={r.seed} protocol={r.protocol_label} " +
                                  " ".join(f"{k}={v * 100:.1f}" for k, v in r.metrics.items()),
                                  highlight=False)
        console.print(results_table(results, title=f"ablations of {config}"))


@command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a directory written by `anyshot train --out`")],
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
    threads: Annotated[
        Optional[int],
        typer.Option(help=_THREADS_HELP, show_default="automatic"),
    ] = None,
) -> None:
    """Re-evaluate the models saved in a run directory on the test sets."""
    with _errors():
        _device(device)
        _threads(threads)
        if not run_dir.is_dir():
            raise ConfigError(f"run directory {str(run_dir)!r} does not exist; "
                              "create one with `anyshot train --config ... --out DIR`.")
        if not (run_dir / "config.yaml").is_file() or not (run_dir / "results.jsonl").is_file():
            raise ConfigError(f"{str(run_dir)!r} is not a finished run (it needs config.yaml and "
                              f"results.jsonl); finish it with `anyshot train --resume {run_dir}`.")
        from anyshot.config import load_config
        from anyshot.experiment import evaluate_run
        from anyshot.reporting import console, result_lines, results_table

        with _threads_for([load_config(run_dir / "config.yaml")], threads):
            results = evaluate_run(run_dir, device=device)
        for line in result_lines(results):
            console.print(line, highlight=False, soft_wrap=True)
        console.print(results_table(results, title=f"re-evaluated {run_dir}"))


@command()
def validate(
    manifest: Annotated[Path, typer.Argument(help="a YAML/JSON data manifest")],
) -> None:
    """Check a data manifest and its files; explain every problem found."""
    from anyshot.data.manifest import load_manifest, validate_manifest

    with _errors():
        if not manifest.is_file():
            raise ConfigError(f"manifest {str(manifest)!r} does not exist; write one (see "
                              "`anyshot example-data DIR` for an example).")
        problems = validate_manifest(manifest)
        if problems:
            typer.secho(f"{manifest}: {len(problems)} problem(s)", fg=typer.colors.RED, err=True)
            for p in problems:
                typer.echo(f"- {p}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{manifest}: OK")
        typer.echo(load_manifest(manifest).summary())


@command("example-data")
def example_data(
    folder: Annotated[Path, typer.Argument(help="folder to write the example files into")],
    seed: Annotated[int, typer.Option(help="seed of the synthetic benchmark")] = 0,
) -> None:
    """Write example CSV files and a manifest (the synthetic benchmark as user data)."""
    from anyshot.data.synthetic import write_example_files

    with _errors():
        _at_least("--seed", seed, 0)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"FOLDER {str(folder)!r} is a file; give a folder.")
        for _name, path in sorted(write_example_files(folder, seed=seed).items()):
            typer.echo(str(path))


def _read(option: str, path: Path):
    """A table read for ``option``, with a hint when a CSV was split on the wrong delimiter."""
    from anyshot.data.manifest import read_table

    table = read_table(path)
    if len(table.columns) == 1 and path.suffix.lower() == ".csv":
        col = str(table.columns[0])
        sep = next((s for s in (";", "\t", "|") if s in col), None)
        if sep is not None:
            raise ConfigError(f"{option}: {str(path)!r} reads as one column {col[:40]!r}; anyshot "
                              f"reads comma-separated CSV, and this file looks separated by "
                              f"{sep!r}. Save it with commas.")
    if len(table) == 0:
        raise ConfigError(f"{option}: {str(path)!r} has a header but no rows.")
    return table


def _numeric_rows(option: str, path: Path, table, hint: str = "") -> Any:
    """Features as a float array; non-numeric columns and NaN/inf rows named with the file."""
    import numpy as np
    import pandas as pd

    bad = [str(c) for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ConfigError(f"{option}: {str(path)!r} has non-numeric columns {bad[:5]}; they "
                          f"must hold numbers{hint}.")
    X = table.to_numpy(dtype=np.float64)
    rows = np.unique(np.nonzero(~np.isfinite(X))[0])
    if rows.size:
        if path.suffix.lower() == ".csv":  # line numbers of the file: the header is line 1
            where = "line(s) " + ", ".join(str(int(r) + 2) for r in rows[:5]) + " of the file"
        else:
            where = "row(s) " + ", ".join(str(int(r)) for r in rows[:5]) + " (counted from 0)"
        raise ConfigError(f"{option}: {str(path)!r} has NaN/inf in {rows.size} row(s), first on "
                          f"{where}; remove or impute them.")
    return X


@command()
def predict(
    input: Annotated[Path, typer.Option("--input", help="samples to classify (CSV/Parquet/NPY)")],
    out: Annotated[Path, typer.Option(help="where to write the predictions (CSV)")],
    model: Annotated[
        Optional[Path],
        typer.Option(
            help=(
                "predict with a trained model, no training: a folder from AnyShotClassifier.save "
                "or a run's seed_<s>/zsl|gzsl"
            ),
            show_default="none: train on --features",
        ),
    ] = None,
    features: Annotated[
        Optional[Path],
        typer.Option(help="training features CSV/Parquet with a label column (without --model)"),
    ] = None,
    classes: Annotated[
        Optional[Path],
        typer.Option(
            help="class-attribute table CSV/Parquet with a class column (without --model)",
        ),
    ] = None,
    preset: Annotated[
        Optional[str],
        typer.Option(
            help="start from a shipped config, e.g. clswgan/synthetic",
            show_default="none: defaults sized to the data",
        ),
    ] = None,
    method: Annotated[
        Optional[str],
        typer.Option(
            help="clswgan | srwgan | attribute-regression | dap",
            show_default="the preset's, else clswgan",
        ),
    ] = None,
    objective: Annotated[
        Optional[str],
        typer.Option(help="wgan | wgan-gp | ebgan", show_default="the preset's, else wgan-gp"),
    ] = None,
    epochs: Annotated[
        Optional[int],
        typer.Option(help="training epochs", show_default="the preset's, else sized to the data"),
    ] = None,
    label_column: Annotated[str, typer.Option(help="label column of --features")] = "label",
    class_column: Annotated[str, typer.Option(help="class column of --classes")] = "class",
    zsl: Annotated[
        bool,
        typer.Option("--zsl", help="predict among unseen classes only (when training)"),
    ] = False,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    threads: Annotated[
        Optional[int],
        typer.Option(help=_THREADS_HELP, show_default="automatic"),
    ] = None,
    save_model: Annotated[
        Optional[Path],
        typer.Option(help="also save the fitted model here (for predict --model)"),
    ] = None,
) -> None:
    """Predict labels (unseen classes included): fit on labelled features + class attributes,
    or load a trained model with --model."""
    import numpy as np
    import pandas as pd

    from anyshot.estimator import AnyShotClassifier, model_kind

    with _errors():
        _device(device)
        _threads(threads)
        _at_least("--seed", seed, 0)
        _at_least("--epochs", epochs, 1)
        _table_file("--input", input)
        if out.suffix.lower() != ".csv":
            raise ConfigError(f"--out {str(out)!r} must be a .csv file.")
        if not out.parent.is_dir():
            raise ConfigError(f"--out: folder {str(out.parent)!r} does not exist; create it first.")
        if model is not None:
            given = [name for name, v in (("--features", features), ("--classes", classes),
                                          ("--preset", preset), ("--method", method),
                                          ("--objective", objective), ("--epochs", epochs),
                                          ("--save-model", save_model)) if v is not None]
            if zsl:
                given.append("--zsl")
            if given:
                raise ConfigError(f"--model predicts with a trained model; {', '.join(given)} "
                                  "only apply when training. Drop them, or drop --model.")
            try:  # a clear error for a folder that holds no usable model
                model_kind(model)
            except AnyShotError as exc:
                raise ConfigError(f"--model: {exc}") from exc
        else:
            if features is None or classes is None:
                raise ConfigError("give --features and --classes to train, or --model DIR to "
                                  "predict with a trained model.")
            _table_file("--features", features)
            _table_file("--classes", classes)
            from anyshot.config import preset_path
            from anyshot.methods import METHODS
            from anyshot.objectives import OBJECTIVES

            if preset is not None:
                preset_path(preset)
            if method is not None:
                _choice("--method", method.lower().replace("_", "-"), sorted(METHODS))
            _choice("--objective", objective, sorted(OBJECTIVES))
        if save_model is not None and save_model.exists() and not save_model.is_dir():
            raise ConfigError(f"--save-model {str(save_model)!r} is a file; give a folder.")

        if model is not None:
            clf = AnyShotClassifier.load(model, device=device)
            if threads is not None:
                clf.threads = threads
        else:
            train = _read("--features", features)
            if label_column not in train.columns:
                raise ConfigError(f"--features: {str(features)!r} has no label column "
                                  f"{label_column!r} (columns: {list(train.columns)[:8]}); set "
                                  "--label-column.")
            table = _read("--classes", classes)
            if class_column not in table.columns:
                raise ConfigError(f"--classes: {str(classes)!r} has no class column "
                                  f"{class_column!r} (columns: {list(table.columns)[:8]}); set "
                                  "--class-column.")
            names = table[class_column].astype(str)
            dup = sorted(set(names[names.duplicated()]))
            if dup:
                raise ConfigError(f"--classes: {str(classes)!r} lists classes {dup[:10]} more "
                                  "than once; each class needs exactly one row.")
            attrs = table.assign(**{class_column: names}).set_index(class_column)
            X = _numeric_rows("--features", features, train.drop(columns=[label_column]),
                              " (name the label column with --label-column)")
            _numeric_rows("--classes", classes, attrs,
                          " (name the class column with --class-column)")
            clf = AnyShotClassifier(method=method, objective=objective, preset=preset,
                                    epochs=epochs, generalized=not zsl, device=device,
                                    random_state=seed, threads=threads)
            clf.fit(X, train[label_column].astype(str).to_numpy(), class_attributes=attrs)
            if save_model is not None:
                clf.save(save_model)
        new = _read("--input", input)
        new = new.drop(columns=[label_column], errors="ignore")
        Xn = _numeric_rows("--input", input, new, f" (a {label_column!r} column is ignored)")
        if Xn.shape[1] != clf.n_features_in_:
            raise ConfigError(f"--input: {str(input)!r} has {Xn.shape[1]} feature columns but the "
                              f"model was trained on {clf.n_features_in_}.")
        pred = clf.predict(Xn)
        pd.DataFrame({"prediction": np.asarray(pred)}).to_csv(out, index=False)
        typer.echo(f"wrote {len(pred)} predictions to {out}"
                   + (f"; model saved to {save_model}" if save_model is not None else ""))


@command()
def generate(
    model: Annotated[
        Path,
        typer.Argument(
            help="a model folder: seed_<s>/<task>/ of a run, or an estimator saved with save()",
        ),
    ],
    classes: Annotated[
        str,
        typer.Option(help="comma-separated class names (or attribute-row indices)"),
    ],
    n: Annotated[int, typer.Option(help="features per class")] = 100,
    out: Annotated[
        Path,
        typer.Option(help="output file: .npy, .parquet or .csv"),
    ] = Path("synthetic_features.parquet"),
    seed: Annotated[int, typer.Option(help="noise seed")] = 0,
) -> None:
    """Write synthetic features for given classes, for your own downstream classifier."""
    import numpy as np
    import pandas as pd

    from anyshot.io import read_json
    from anyshot.methods import Method

    with _errors():
        _at_least("--n", n, 1)
        _at_least("--seed", seed, 0)
        if out.suffix.lower() not in (".npy", ".parquet", ".pq", ".csv"):
            raise ConfigError(f"--out {str(out)!r} must end in .npy, .parquet or .csv.")
        if not out.parent.is_dir():
            raise ConfigError(f"--out: folder {str(out.parent)!r} does not exist; create it first.")
        if not (model / "model.json").is_file():
            raise ConfigError(f"MODEL {str(model)!r} holds no model.json; give a run's "
                              "seed_<s>/<task> folder or a folder from AnyShotClassifier.save.")
        method = Method.load(model)
        if not hasattr(method, "synthesize"):
            raise ConfigError(f"method {method.name!r} is not generative; it cannot synthesize "
                              "features.")
        names: list = []
        shift = scale = None
        if (model / "estimator.json").is_file():
            state = read_json(model / "estimator.json")
            names = [str(label) for label in state["attribute_labels"]]
            shift, scale = np.array(state["shift"]), np.array(state["scale"])
        wanted = [c.strip() for c in classes.split(",") if c.strip()]
        idx = []
        for c in wanted:
            if c in names:
                idx.append(names.index(c))
            elif c.isdigit() and int(c) < int(method.A_.shape[0]):
                idx.append(int(c))
            else:
                known = ", ".join(names[:20]) or \
                    "attribute-row indices 0.." + str(int(method.A_.shape[0]) - 1)
                raise ConfigError(f"--classes: unknown class {c!r}; known classes: {known}.")
        X, y = method.synthesize(np.array(idx), n, seed=seed)
        X = X.cpu().numpy().astype(np.float64)
        if shift is not None:
            X = X * scale + shift  # back to the user's feature scale
        labels = np.array([names[i] if names else i for i in y.cpu().numpy()])
        if out.suffix == ".npy":
            np.save(out, X.astype(np.float32))
            np.save(out.with_name(out.stem + "_labels.npy"), labels.astype(str))
        else:
            df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
            df["label"] = labels
            df.to_parquet(out) if out.suffix in (".parquet", ".pq") else df.to_csv(out, index=False)
        typer.echo(f"wrote {X.shape[0]} features ({len(idx)} classes x {n}) to {out}")


@command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="a directory written by `anyshot train --out`")],
    embedding: Annotated[
        str,
        typer.Option(help="2-D embedding of real vs synthetic features: pca | tsne"),
    ] = "pca",
    threads: Annotated[
        Optional[int],
        typer.Option(help=_THREADS_HELP, show_default="automatic"),
    ] = None,
) -> None:
    """Write an HTML report of a run: training curves, accuracies, confusion matrix, embedding."""
    from anyshot.report import EMBEDDINGS, report_command
    from anyshot.utils import limit_threads

    with _errors():
        _choice("--embedding", embedding, EMBEDDINGS)
        _threads(threads)
        with limit_threads(threads):
            report_command(run_dir, embedding=embedding)


@command()
def sweep(
    config: Annotated[
        str,
        typer.Option("--config", "-c", help="YAML file or preset name (see `anyshot presets`)"),
    ],
    space: Annotated[
        Path,
        typer.Option(
            help=(
                "search space YAML: {metric: ..., space: {dotted.key: {type: "
                "float|int|categorical, ...}}}"
            ),
        ),
    ],
    trials: Annotated[
        int,
        typer.Option(help="trials to add in this call (a study resumes where it stopped)"),
    ] = 20,
    jobs: Annotated[
        int,
        typer.Option(help="trials run side by side; the threads are shared out, at least one each"),
    ] = 1,
    storage: Annotated[
        Optional[str],
        typer.Option(help="SQLAlchemy URL of the study", show_default="sqlite:///<out>/sweep.db"),
    ] = None,
    study_name: Annotated[str, typer.Option(help="study to create or continue")] = "anyshot",
    out: Annotated[
        Optional[Path],
        typer.Option(
            help="folder for best_config.yaml (and the default sweep.db)",
            show_default="current folder",
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(help="seed of the validation split, the models and the sampler"),
    ] = 0,
    threads: Annotated[
        Optional[int],
        typer.Option(
            help=_THREADS_HELP + "; shared by the --jobs trials",
            show_default="automatic",
        ),
    ] = None,
    set_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="override a config key: KEY=VALUE (YAML value)",
            show_default="none",
        ),
    ] = None,
) -> None:
    """Search hyperparameters with Optuna on the validation split (the test split is never read)."""
    from anyshot.sweep import load_search_space, sweep_command

    with _errors():
        _at_least("--trials", trials, 1)
        _at_least("--jobs", jobs, 1)
        _at_least("--seed", seed, 0)
        _threads(threads)
        if not space.is_file():
            raise ConfigError(f"--space: file {str(space)!r} does not exist; write a search space "
                              "YAML (see `anyshot sweep --help`).")
        if out is not None and out.exists() and not out.is_dir():
            raise ConfigError(f"--out {str(out)!r} is a file; give a folder.")
        overrides = _parse_sets(set_ or [])
        _check_config_source(config)
        load_search_space(space)
        sweep_command(config, space, trials, storage, study_name, out, overrides=overrides,
                      seed=seed, jobs=jobs, threads=threads)


@command()
def presets() -> None:
    """List the config presets shipped with anyshot."""
    from anyshot.config import list_presets

    for name in list_presets():
        typer.echo(name)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
