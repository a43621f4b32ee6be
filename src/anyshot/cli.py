"""The ``anyshot`` command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from anyshot.errors import AnyShotError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Generative any-shot learning: ZSL, GZSL, FSL and GFSL with honest evaluation.")


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _parse_sets(sets: list[str]) -> dict:
    out = {}
    for item in sets:
        if "=" not in item:
            raise typer.BadParameter(f"--set takes KEY=VALUE (e.g. method.params.epochs=10), got {item!r}")
        key, value = item.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def _run(configs: list, title: str, run_dir: Optional[Path], quiet: bool, resume: bool = False) -> list:
    from anyshot.experiment import prepare_data, run_experiment
    from anyshot.reporting import console, progress_bar, result_lines, results_table

    results = []
    with progress_bar(None if not quiet else False) as progress:
        for i, cfg in enumerate(configs):
            data = prepare_data(cfg)
            sub = None
            if run_dir is not None:
                sub = run_dir if len(configs) == 1 else run_dir / cfg.method.name
            results += run_experiment(cfg, progress, data=data, run_dir=sub, resume=resume)
    for line in result_lines(results):
        console.print(line, highlight=False, soft_wrap=True)
    console.print(results_table(results, title=title))
    return results


@app.command()
def demo(
    seeds: Annotated[int, typer.Option(help="number of seeds (mean +- std over them)")] = 1,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    out: Annotated[Optional[Path], typer.Option(help="write a run directory here")] = None,
) -> None:
    """Train f-CLSWGAN and the attribute-regression floor on the embedded synthetic benchmark."""
    from anyshot.config import load_config

    try:
        overrides = {"evaluation.seeds": list(range(seeds)), "device": device}
        configs = [load_config(p, overrides) for p in ("attribute-regression/synthetic",
                                                       "clswgan/synthetic")]
        typer.echo("anyshot demo: synthetic benchmark (20 classes, 5 unseen; chance ZSL = 20.0%), "
                   "honest protocol (epochs chosen on validation classes carved from seen ones)")
        t0 = time.perf_counter()
        _run(configs, "anyshot demo (accuracy %, mean +- std over seeds)", out, quiet=False)
        typer.echo(f"done in {time.perf_counter() - t0:.1f} s")
    except AnyShotError as exc:
        _fail(exc)


@app.command()
def train(
    config: Annotated[Optional[str], typer.Option("--config", "-c", help="YAML file or preset name (see `anyshot presets`)")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="continue the interrupted run in this directory")] = None,
    seeds: Annotated[Optional[str], typer.Option(help="comma-separated seeds, e.g. 0,1,2")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu | cuda | auto")] = None,
    objective: Annotated[Optional[str], typer.Option(help="adversarial objective: wgan | wgan-gp | ebgan")] = None,
    protocol: Annotated[Optional[str], typer.Option(help="honest | fixed | test-selection (peeks at test)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="run directory for results and models")] = None,
    amp: Annotated[Optional[str], typer.Option(help="none | bf16: bfloat16 autocast of training and synthesis (method.params.amp)")] = None,
    patience: Annotated[Optional[int], typer.Option(help="early stopping: end the validation run after N evaluations without a new best (evaluation.patience)")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override a config key: KEY=VALUE")] = None,
) -> None:
    """Train and test one config (every seed), print the table, write a run directory."""
    from anyshot.config import load_config

    try:
        overrides = _parse_sets(set_ or [])
        if seeds:
            overrides["evaluation.seeds"] = [int(s) for s in seeds.split(",")]
        if device:
            overrides["device"] = device
        if objective:
            overrides["objective.name"] = objective
        if protocol:
            overrides["evaluation.protocol"] = protocol
        if amp:
            overrides["method.params.amp"] = amp
        if patience is not None:
            overrides["evaluation.patience"] = patience
        if resume is not None:
            if config is not None or out is not None:
                raise AnyShotError("--resume takes the config and output folder of the run; "
                                   "drop --config and --out.")
            if not (resume / "config.yaml").is_file():
                raise AnyShotError(f"{str(resume)!r} holds no run (no config.yaml) to resume.")
            config, out = str(resume / "config.yaml"), resume
        if config is None:
            raise AnyShotError("give --config FILE (or a preset name), or --resume RUN_DIR.")
        cfg = load_config(config, overrides)
        _run([cfg], f"{cfg.method.name} on {cfg.data.name}", out, quiet=False,
             resume=resume is not None)
        if out is not None:
            typer.echo(f"run directory: {out}")
    except AnyShotError as exc:
        _fail(exc)


ABLATIONS = {
    "full": {},
    "no-mapping": {"use_mapping": False},
    "no-center-loss": {"use_center_loss": False},
    "no-bias-elimination": {"use_bias_elimination": False},
    "no-alignment": {"use_alignment": False},
    "single-head": {"single_head": True},
}


@app.command()
def ablate(
    config: Annotated[str, typer.Option("--config", "-c", help="an SRWGAN config or preset, e.g. srwgan/synthetic")],
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    variants: Annotated[str, typer.Option(help="comma-separated subset of: " + ", ".join(ABLATIONS))] = ",".join(ABLATIONS),
    device: Annotated[Optional[str], typer.Option(help="cpu | cuda | auto")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override a config key: KEY=VALUE")] = None,
) -> None:
    """Run the standard SRWGAN ablation set (one switch off at a time) over seeds."""
    from anyshot.config import load_config
    from anyshot.experiment import prepare_data, run_experiment
    from anyshot.reporting import console, progress_bar, results_table

    try:
        overrides = _parse_sets(set_ or [])
        overrides["evaluation.seeds"] = [int(s) for s in seeds.split(",")]
        if device:
            overrides["device"] = device
        unknown = [v for v in variants.split(",") if v not in ABLATIONS]
        if unknown:
            raise AnyShotError(f"unknown ablation(s) {unknown}; valid: {', '.join(ABLATIONS)}.")
        base = load_config(config, overrides)
        data = prepare_data(base)
        results = []
        with progress_bar() as progress:
            for name in variants.split(","):
                switch = {f"method.params.{k}": v for k, v in ABLATIONS[name].items()}
                cfg = load_config(config, {**overrides, **switch})
                for r in run_experiment(cfg, progress, data=data):
                    r.method = f"{r.method} ({name})"
                    results.append(r)
                    console.print(f"{r.method} seed={r.seed} protocol={r.protocol_label} " +
                                  " ".join(f"{k}={v * 100:.1f}" for k, v in r.metrics.items()),
                                  highlight=False)
        console.print(results_table(results, title=f"ablations of {config}"))
    except AnyShotError as exc:
        _fail(exc)


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a directory written by `anyshot train --out`")],
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
) -> None:
    """Re-evaluate the models saved in a run directory on the test sets."""
    from anyshot.experiment import evaluate_run
    from anyshot.reporting import console, result_lines, results_table

    try:
        if not run_dir.is_dir():
            raise AnyShotError(f"run directory {str(run_dir)!r} does not exist; "
                               "create one with `anyshot train --config ... --out DIR`.")
        results = evaluate_run(run_dir, device=device)
        for line in result_lines(results):
            console.print(line, highlight=False, soft_wrap=True)
        console.print(results_table(results, title=f"re-evaluated {run_dir}"))
    except AnyShotError as exc:
        _fail(exc)


@app.command()
def validate(
    manifest: Annotated[Path, typer.Argument(help="a YAML/JSON data manifest")],
) -> None:
    """Check a data manifest and its files; explain every problem found."""
    from anyshot.data.manifest import load_manifest, validate_manifest

    problems = validate_manifest(manifest)
    if problems:
        typer.secho(f"{manifest}: {len(problems)} problem(s)", fg=typer.colors.RED, err=True)
        for p in problems:
            typer.echo(f"- {p}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{manifest}: OK")
    typer.echo(load_manifest(manifest).summary())


@app.command("example-data")
def example_data(
    folder: Annotated[Path, typer.Argument(help="folder to write the example files into")],
    seed: Annotated[int, typer.Option(help="seed of the synthetic benchmark")] = 0,
) -> None:
    """Write example CSV files and a manifest (the synthetic benchmark as user data)."""
    from anyshot.data.synthetic import write_example_files

    for name, path in sorted(write_example_files(folder, seed=seed).items()):
        typer.echo(str(path))


@app.command()
def predict(
    features: Annotated[Path, typer.Option(help="training features CSV/Parquet with a label column")],
    classes: Annotated[Path, typer.Option(help="class-attribute table CSV/Parquet with a class column")],
    input: Annotated[Path, typer.Option("--input", help="samples to classify (CSV/Parquet/NPY)")],
    out: Annotated[Path, typer.Option(help="where to write the predictions (CSV)")],
    preset: Annotated[Optional[str], typer.Option(help="start from a shipped config, e.g. clswgan/synthetic")] = None,
    method: Annotated[Optional[str], typer.Option(help="clswgan | attribute-regression | dap | ...")] = None,
    objective: Annotated[Optional[str], typer.Option(help="wgan | wgan-gp | ebgan")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="training epochs")] = None,
    label_column: Annotated[str, typer.Option(help="label column of --features")] = "label",
    class_column: Annotated[str, typer.Option(help="class column of --classes")] = "class",
    zsl: Annotated[bool, typer.Option(help="predict among unseen classes only")] = False,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Fit on labelled features + class attributes, predict labels (unseen classes included)."""
    from anyshot.data.manifest import read_table
    from anyshot.estimator import AnyShotClassifier

    try:
        train = read_table(features)
        if label_column not in train.columns:
            raise AnyShotError(f"{features} has no label column {label_column!r}; set --label-column.")
        table = read_table(classes)
        if class_column not in table.columns:
            raise AnyShotError(f"{classes} has no class column {class_column!r}; set --class-column.")
        attrs = table.set_index(class_column)
        clf = AnyShotClassifier(method=method, objective=objective, preset=preset, epochs=epochs,
                                generalized=not zsl, device=device, random_state=seed)
        clf.fit(train.drop(columns=[label_column]), train[label_column].astype(str), class_attributes=attrs)
        new = read_table(input)
        pred = clf.predict(new.drop(columns=[label_column], errors="ignore"))
        import pandas as pd

        pd.DataFrame({"prediction": pred}).to_csv(out, index=False)
        typer.echo(f"wrote {len(pred)} predictions to {out}")
    except AnyShotError as exc:
        _fail(exc)


@app.command()
def generate(
    model: Annotated[Path, typer.Argument(help="a model folder: seed_<s>/<task>/ of a run, or an estimator saved with save()")],
    classes: Annotated[str, typer.Option(help="comma-separated class names (or attribute-row indices)")],
    n: Annotated[int, typer.Option(help="features per class")] = 100,
    out: Annotated[Path, typer.Option(help="output file: .npy, .parquet or .csv")] = Path("synthetic_features.parquet"),
    seed: Annotated[int, typer.Option(help="noise seed")] = 0,
) -> None:
    """Write synthetic features for given classes, for your own downstream classifier."""
    import numpy as np
    import pandas as pd

    from anyshot.io import read_json
    from anyshot.methods import Method

    try:
        method = Method.load(model)
        if not hasattr(method, "synthesize"):
            raise AnyShotError(f"method {method.name!r} is not generative; it cannot synthesize features.")
        names: list = []
        shift = scale = None
        if (model / "estimator.json").is_file():
            state = read_json(model / "estimator.json")
            names = [str(l) for l in state["attribute_labels"]]
            shift, scale = np.array(state["shift"]), np.array(state["scale"])
        wanted = [c.strip() for c in classes.split(",") if c.strip()]
        idx = []
        for c in wanted:
            if c in names:
                idx.append(names.index(c))
            elif c.isdigit() and int(c) < int(method.A_.shape[0]):
                idx.append(int(c))
            else:
                raise AnyShotError(f"unknown class {c!r}; known classes: {', '.join(names[:20]) or 'attribute-row indices 0..' + str(int(method.A_.shape[0]) - 1)}.")
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
    except AnyShotError as exc:
        _fail(exc)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="a directory written by `anyshot train --out`")],
    embedding: Annotated[str, typer.Option(help="2-D embedding of real vs synthetic features: pca | tsne")] = "pca",
) -> None:
    """Write an HTML report of a run: training curves, accuracies, confusion matrix, embedding."""
    from anyshot.report import report_command

    try:
        report_command(run_dir, embedding=embedding)
    except AnyShotError as exc:
        _fail(exc)


@app.command()
def sweep(
    config: Annotated[str, typer.Option("--config", "-c", help="YAML file or preset name (see `anyshot presets`)")],
    space: Annotated[Path, typer.Option(help="search space YAML: {metric: ..., space: {dotted.key: {type: float|int|categorical, ...}}}")],
    trials: Annotated[int, typer.Option(help="trials to add in this call (a study resumes where it stopped)")] = 20,
    storage: Annotated[Optional[str], typer.Option(help="SQLAlchemy URL of the study (default: sqlite:///<out>/sweep.db)")] = None,
    study_name: Annotated[str, typer.Option(help="study to create or continue")] = "anyshot",
    out: Annotated[Optional[Path], typer.Option(help="folder for best_config.yaml (and the default sweep.db); default: current folder")] = None,
    seed: Annotated[int, typer.Option(help="seed of the validation split, the models and the sampler")] = 0,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override a config key: KEY=VALUE")] = None,
) -> None:
    """Search hyperparameters with Optuna on the validation split (the test split is never read)."""
    from anyshot.sweep import sweep_command

    try:
        sweep_command(config, space, trials, storage, study_name, out,
                      overrides=_parse_sets(set_ or []), seed=seed)
    except AnyShotError as exc:
        _fail(exc)


@app.command()
def presets() -> None:
    """List the config presets shipped with anyshot."""
    from anyshot.config import list_presets

    for name in list_presets():
        typer.echo(name)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
