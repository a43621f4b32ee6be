"""Commands that train and evaluate runs: ``demo``, ``train``, ``ablate``, ``evaluate`` and
``presets`` (the configs they start from)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from anyshot.cli import checks
from anyshot.cli.base import FROM_CONFIG, THREADS_HELP, RunDir, Sets, Threads, exit_on_errors
from anyshot.errors import ConfigError


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


def _run(configs: list, title: str, run_dir: Optional[Path], quiet: bool, resume: bool = False,
         threads: int | None = None) -> list:
    from anyshot.experiment import prepare_data, run_experiment
    from anyshot.reporting import console, progress_bar, result_lines, results_table

    results = []
    with _threads_for(configs, threads), progress_bar(None if not quiet else False) as progress:
        for cfg in configs:
            data = prepare_data(cfg)
            _check_data_for(cfg, data)
            sub = None
            if run_dir is not None:
                sub = run_dir if len(configs) == 1 else run_dir / cfg.method.name
            results += run_experiment(cfg, progress, data=data, run_dir=sub, resume=resume)
    for line in result_lines(results):
        console.print(line, highlight=False, soft_wrap=True)
    console.print(results_table(results, title=title))
    return results


def _check_data_for(cfg: Any, data: Any) -> None:
    """What a config asks of its data, checked once the data is loaded: enough seen classes for
    the validation folds (an error), a batch no larger than the training set (a warning)."""
    from anyshot.methods import make_method

    checks.validation_folds(cfg, data)
    batch = getattr(make_method(cfg.method.name, cfg.method.params).config, "batch_size", None)
    note = checks.batch_note("method.params.batch_size", batch, int(data.trainval.size))
    if note:
        typer.secho(f"warning: {note}", fg=typer.colors.YELLOW, err=True)


def demo(
    seeds: Annotated[
        str,
        typer.Option(help=checks.SEEDS_HELP + "; mean +- std over them"),
    ] = "0",
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    out: Annotated[Optional[Path], typer.Option(help="write a run directory here")] = None,
    threads: Threads = None,
) -> None:
    """Train f-CLSWGAN and the attribute-regression floor on the embedded synthetic benchmark."""
    from anyshot.config import load_config

    with exit_on_errors():
        seed_values = checks.seed_list(seeds)
        checks.device(device)
        checks.threads(threads)
        checks.out_folder(out)
        overrides = {"evaluation.seeds": seed_values, "device": device}
        configs = [load_config(p, overrides) for p in ("attribute-regression/synthetic",
                                                       "clswgan/synthetic")]
        typer.echo("anyshot demo: synthetic benchmark (20 classes, 5 unseen; chance ZSL = 20.0%), "
                   "honest protocol (epochs chosen on validation classes carved from seen ones)")
        t0 = time.perf_counter()
        _run(configs, "anyshot demo (accuracy %, mean +- std over seeds)", out, quiet=False,
             threads=threads)
        typer.echo(f"done in {time.perf_counter() - t0:.1f} s")


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
        typer.Option(help=checks.SEEDS_HELP, show_default=FROM_CONFIG),
    ] = None,
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu | cuda | auto", show_default=FROM_CONFIG),
    ] = None,
    objective: Annotated[
        Optional[str],
        typer.Option(
            help="adversarial objective: wgan | wgan-gp | ebgan",
            show_default=FROM_CONFIG,
        ),
    ] = None,
    protocol: Annotated[
        Optional[str],
        typer.Option(
            help="honest | fixed | test-selection (peeks at test)",
            show_default=FROM_CONFIG,
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
            show_default=FROM_CONFIG,
        ),
    ] = None,
    patience: Annotated[
        Optional[int],
        typer.Option(
            help=(
                "early stopping: end the validation run after N evaluations without a new best "
                "(evaluation.patience)"
            ),
            show_default=FROM_CONFIG,
        ),
    ] = None,
    threads: Annotated[
        Optional[int],
        typer.Option(help=THREADS_HELP + " (config key threads)", show_default="automatic"),
    ] = None,
    set_: Sets = None,
) -> None:
    """Train and test one config (every seed), print the table, write a run directory."""
    from anyshot.nn.precision import AMP_MODES
    from anyshot.objectives import OBJECTIVES
    from anyshot.protocols import PROTOCOLS

    run_dir = resume if resume is not None else out
    with exit_on_errors(run_dir, resumable=True):
        overrides = checks.parse_sets(set_ or [])
        if seeds is not None:
            overrides["evaluation.seeds"] = checks.seed_list(seeds)
        checks.device(device)
        checks.choice("--objective", objective, sorted(OBJECTIVES))
        checks.choice("--protocol", protocol, PROTOCOLS)
        checks.choice("--amp", amp, AMP_MODES)
        checks.at_least("--patience", patience, 1)
        checks.threads(threads)
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
            checks.out_folder(out)
        if config is None:
            raise ConfigError("give --config FILE (or a preset name, see `anyshot presets`), or "
                              "--resume RUN_DIR.")
        cfg = checks.load_checked_config(config, overrides)
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


def ablate(
    config: Annotated[
        str,
        typer.Option("--config", "-c", help="an SRWGAN config or preset, e.g. srwgan/synthetic"),
    ],
    seeds: Annotated[str, typer.Option(help=checks.SEEDS_HELP)] = "0,1,2",
    variants: Annotated[
        str,
        typer.Option(help="comma-separated subset of: " + ", ".join(ABLATIONS)),
    ] = ",".join(ABLATIONS),
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu | cuda | auto", show_default=FROM_CONFIG),
    ] = None,
    threads: Threads = None,
    set_: Sets = None,
) -> None:
    """Run the standard SRWGAN ablation set (one switch off at a time) over seeds."""
    from anyshot.experiment import prepare_data, run_experiment
    from anyshot.reporting import console, progress_bar, results_table

    with exit_on_errors():
        overrides = checks.parse_sets(set_ or [])
        overrides["evaluation.seeds"] = checks.seed_list(seeds)
        checks.device(device)
        checks.threads(threads)
        if device:
            overrides["device"] = device
        names = [v.strip() for v in variants.split(",")]
        unknown = [v for v in names if v not in ABLATIONS]
        if unknown:
            raise ConfigError(f"--variants: unknown ablation(s) {unknown}; valid: "
                              f"{', '.join(ABLATIONS)}.")
        base = checks.load_checked_config(config, overrides)
        if base.method.name != "srwgan":
            raise ConfigError(f"--config {config!r} trains {base.method.name!r}; ablate switches "
                              "SRWGAN's parts off, so give an SRWGAN config, "
                              "e.g. srwgan/synthetic.")
        cfgs = [checks.load_checked_config(
                    config, {**overrides, **{f"method.params.{k}": v
                                             for k, v in ABLATIONS[name].items()}})
                for name in names]
        results = []
        with _threads_for([base], threads), progress_bar() as progress:
            data = prepare_data(base)
            _check_data_for(base, data)
            for name, cfg in zip(names, cfgs):
                for r in run_experiment(cfg, progress, data=data):
                    r.method = f"{r.method} ({name})"
                    results.append(r)
                    console.print(f"{r.method} seed={r.seed} protocol={r.protocol_label} " +
                                  " ".join(f"{k}={v * 100:.1f}" for k, v in r.metrics.items()),
                                  highlight=False)
        console.print(results_table(results, title=f"ablations of {config}"))


def evaluate(
    run_dir: RunDir,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
    threads: Threads = None,
) -> None:
    """Re-evaluate the models saved in a run directory on the test sets."""
    with exit_on_errors():
        checks.device(device)
        checks.threads(threads)
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


def presets() -> None:
    """List the config presets shipped with anyshot, one line each: name and description."""
    from anyshot.config import list_presets, preset_description

    names = list_presets()
    width = max(len(n) for n in names) + 2
    for name in names:
        typer.echo(f"{name:<{width}}{preset_description(name)}".rstrip())
