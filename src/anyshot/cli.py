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


def _run(configs: list, title: str, run_dir: Optional[Path], quiet: bool) -> list:
    from anyshot.experiment import prepare_data, run_experiment
    from anyshot.reporting import console, progress_bar, result_lines, results_table

    results = []
    with progress_bar(None if not quiet else False) as progress:
        for i, cfg in enumerate(configs):
            data = prepare_data(cfg)
            sub = None
            if run_dir is not None:
                sub = run_dir if len(configs) == 1 else run_dir / cfg.method.name
            results += run_experiment(cfg, progress, data=data, run_dir=sub)
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
    config: Annotated[str, typer.Option("--config", "-c", help="YAML file or preset name (see `anyshot presets`)")],
    seeds: Annotated[Optional[str], typer.Option(help="comma-separated seeds, e.g. 0,1,2")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu | cuda | auto")] = None,
    objective: Annotated[Optional[str], typer.Option(help="adversarial objective: wgan | wgan-gp | ebgan")] = None,
    protocol: Annotated[Optional[str], typer.Option(help="honest | fixed | test-selection (peeks at test)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="run directory for results and models")] = None,
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
        cfg = load_config(config, overrides)
        _run([cfg], f"{cfg.method.name} on {cfg.data.name}", out, quiet=False)
        if out is not None:
            typer.echo(f"run directory: {out}")
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
def presets() -> None:
    """List the config presets shipped with anyshot."""
    from anyshot.config import list_presets

    for name in list_presets():
        typer.echo(name)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
