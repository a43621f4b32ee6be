"""Commands for a model on new data: ``predict`` (labels, training on the way when no model is
given) and ``generate`` (synthetic features for chosen classes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from anyshot.cli import checks
from anyshot.cli.base import Threads, exit_on_errors
from anyshot.cli.tables import input_rows, numeric_rows, read_table_for
from anyshot.errors import AnyShotError, ConfigError

#: The config keys ``predict --set`` takes, and the estimator argument each one sets.
PREDICT_SET_KEYS = ("method.name", "method.params.NAME", "objective.name",
                    "objective.params.NAME", "data.scaling")



def predict(
    input: Annotated[Path, typer.Option("--input", help="samples to classify (CSV/Parquet/NPY)")],
    out: Annotated[Path, typer.Option(help="where to write the predictions (CSV)")],
    model: Annotated[
        Optional[Path],
        typer.Option(
            help=(
                "predict with a trained model, no training: a folder from AnyShotClassifier.save "
                "or a run's seed_S/zsl|gzsl"
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
            show_default="none: --method auto",
        ),
    ] = None,
    method: Annotated[
        Optional[str],
        typer.Option(
            help="auto (chosen on validation folds of your classes; the selection table is "
                 "printed) | factorised-gaussian | dap | attribute-regression | clswgan | srwgan",
            show_default="the preset's, else auto",
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
    threads: Threads = None,
    save_model: Annotated[
        Optional[Path],
        typer.Option(help="also save the fitted model here (for predict --model)"),
    ] = None,
    unseen: Annotated[
        Optional[str],
        typer.Option(
            help=(
                "comma-separated classes of --classes that are unseen (when training): those "
                "without rows in --features are zero-shot, those with rows few-shot (their rows "
                "are the shots)"
            ),
            show_default="the classes without rows in --features",
        ),
    ] = None,
    proba: Annotated[
        bool,
        typer.Option("--proba", help="also write one probability column per class, named "
                                     "after the class"),
    ] = False,
    set_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help=(
                "override a setting when training: KEY=VALUE (YAML value) with KEY one of "
                + ", ".join(PREDICT_SET_KEYS) + ", e.g. method.params.batch_size=32"
            ),
            show_default="none",
        ),
    ] = None,
) -> None:
    """Predict labels, unseen classes included: fit on your data, or load a model (--model).

    Without --model it fits on labelled features and a class-attribute table.

    The output CSV has a 'prediction' column (and with --proba one probability column per
    class). Classes of --classes without rows in --features are the unseen ones, unless --unseen
    names them, as AnyShotClassifier.fit(X, y, class_attributes=..., unseen_classes=...) does."""
    import numpy as np
    import pandas as pd

    from anyshot.estimator import AnyShotClassifier, model_kind

    with exit_on_errors():
        checks.device(device)
        checks.threads(threads)
        checks.at_least("--seed", seed, 0)
        checks.at_least("--epochs", epochs, 1)
        checks.table_file("--input", input)
        if out.suffix.lower() != ".csv":
            raise ConfigError(f"--out {str(out)!r} must be a .csv file.")
        if not out.parent.is_dir():
            raise ConfigError(f"--out: folder {str(out.parent)!r} does not exist; create it first.")
        settings = _estimator_settings(checks.parse_sets(set_ or []))
        if model is not None:
            given = [name for name, v in (("--features", features), ("--classes", classes),
                                          ("--preset", preset), ("--method", method),
                                          ("--objective", objective), ("--epochs", epochs),
                                          ("--save-model", save_model), ("--unseen", unseen),
                                          ("--set", set_ or None)) if v is not None]
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
            checks.table_file("--features", features)
            checks.table_file("--classes", classes)
            from anyshot.config import preset_path
            from anyshot.methods import METHODS
            from anyshot.objectives import OBJECTIVES

            if preset is not None:
                preset_path(preset)
            if method is not None:
                checks.choice("--method", method.lower().replace("_", "-"),
                              ["auto", *sorted(METHODS)])
            checks.choice("--objective", objective, sorted(OBJECTIVES))
            from anyshot.data.transforms import SCALINGS

            checks.choice("--set data.scaling", settings.get("scaling"), SCALINGS)
            for option, value in (("--method", method), ("--objective", objective)):
                if value is not None:  # an option given outright wins over --set, as in train
                    settings[option[2:]] = value
            clf = AnyShotClassifier(preset=preset, epochs=epochs, generalized=not zsl,
                                    device=device, random_state=seed, threads=threads, **settings)
            try:  # names and values of the settings, checked before any file is read
                clf._build_method()
            except ConfigError as exc:
                raise ConfigError(f"--set: {exc}" if set_ else str(exc)) from exc
        if save_model is not None and save_model.exists() and not save_model.is_dir():
            raise ConfigError(f"--save-model {str(save_model)!r} is a file; give a folder.")

        if model is not None:
            try:
                clf = AnyShotClassifier.load(model, device=device)
            except AnyShotError as exc:
                raise ConfigError(f"--model: {exc}") from exc
            if threads is not None:
                clf.threads = threads
            Xn = input_rows(input, label_column, clf.n_features_in_, "the model was trained on")
        else:
            train = read_table_for("--features", features)
            if label_column not in train.columns:
                raise ConfigError(f"--features: {str(features)!r} has no label column "
                                  f"{label_column!r} (columns: {list(train.columns)[:8]}); set "
                                  "--label-column.")
            table = read_table_for("--classes", classes)
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
            X = numeric_rows("--features", features, train.drop(columns=[label_column]),
                              " (name the label column with --label-column)")
            numeric_rows("--classes", classes, attrs,
                          " (name the class column with --class-column)")
            y = train[label_column].astype(str).to_numpy()
            # The samples to classify are read before training, so a bad file costs no training.
            Xn = input_rows(input, label_column, X.shape[1], "--features has")
            unseen_classes = _unseen_classes(unseen, classes, list(names), y)
            note = checks.batch_note("method.params.batch_size",
                                     (clf.method_params or {}).get("batch_size"), len(y))
            if note:
                typer.secho(f"warning: {note}", fg=typer.colors.YELLOW, err=True)
            clf.fit(X, y, class_attributes=attrs, unseen_classes=unseen_classes)
            _print_selection(clf)
            if save_model is not None:
                clf.save(save_model)
        try:
            pred = clf.predict(Xn)
        except AnyShotError as exc:
            raise ConfigError(f"--input: {exc}") from exc
        table_out = pd.DataFrame({"prediction": np.asarray(pred)})
        if proba:
            columns = [str(c) for c in clf.classes_]
            if "prediction" in columns:
                raise ConfigError("--proba names a column after each class, and a class is "
                                  "called 'prediction', the name of the predicted-label column; "
                                  "rename that class.")
            table_out = pd.concat([table_out, pd.DataFrame(clf.predict_proba(Xn),
                                                           columns=columns)], axis=1)
        from anyshot.io import atomic_write_text

        atomic_write_text(out, table_out.to_csv(index=False))
        typer.echo(f"wrote {len(pred)} predictions to {out}"
                   + (f"; model saved to {save_model}" if save_model is not None else ""))


def generate(
    model: Annotated[
        Path,
        typer.Argument(
            help="a model folder: seed_S/TASK/ of a run, or an estimator saved with save()",
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

    with exit_on_errors():
        checks.at_least("--n", n, 1)
        checks.at_least("--seed", seed, 0)
        if out.suffix.lower() not in (".npy", ".parquet", ".pq", ".csv"):
            raise ConfigError(f"--out {str(out)!r} must end in .npy, .parquet or .csv.")
        if not out.parent.is_dir():
            raise ConfigError(f"--out: folder {str(out.parent)!r} does not exist; create it first.")
        if not (model / "model.json").is_file():
            raise ConfigError(f"MODEL {str(model)!r} holds no model.json; give a run's "
                              "seed_<s>/<task> folder or a folder from AnyShotClassifier.save.")
        try:
            method = Method.load(model)
        except AnyShotError as exc:
            raise ConfigError(f"MODEL {str(model)!r}: {exc}") from exc
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


def _estimator_settings(sets: dict[str, Any]) -> dict[str, Any]:
    """``--set`` overrides as AnyShotClassifier arguments: method.params.* -> method_params
    (dotted keys nest), objective.params.* -> objective_params, method.name -> method,
    objective.name -> objective, data.scaling -> scaling."""
    out: dict[str, Any] = {}
    simple = {"method.name": "method", "objective.name": "objective", "data.scaling": "scaling"}
    for key, value in sets.items():
        if key in simple:
            out[simple[key]] = value
            continue
        head, _, rest = key.partition(".params.")
        if head in ("method", "objective") and rest:
            node = out.setdefault(f"{head}_params", {})
            *path, last = rest.split(".")
            for part in path:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"--set {key}: {part!r} is set to a value above; set its "
                                      "keys or the value, not both.")
            node[last] = value
            continue
        raise ConfigError(f"--set {key}: predict takes {', '.join(PREDICT_SET_KEYS)} (the data "
                          "come from --features, --classes and --input; evaluation settings "
                          "belong to `anyshot train`).")
    return out


def _unseen_classes(text: str | None, path: Path, names: list[str], y: Any) -> list[str] | None:
    """The classes ``--unseen`` names, checked against the class table; notes on stderr for
    named classes that have rows (few-shot) and unnamed ones without rows (left out)."""
    import numpy as np

    if text is None:
        return None
    wanted = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not wanted:
        raise ConfigError("--unseen takes comma-separated class names of --classes, e.g. "
                          "--unseen zebra,whale.")
    known = set(names)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise ConfigError(f"--unseen: {', '.join(map(repr, unknown))} "
                          f"{'is' if len(unknown) == 1 else 'are'} not a class of --classes "
                          f"{str(path)!r} (its classes: {shown}).")
    present = set(np.unique(y).tolist())
    shots = [c for c in wanted if c in present]
    if shots:
        typer.echo(f"note: --unseen classes {shots[:10]} have rows in --features: they are "
                   "few-shot classes, those rows their shots.", err=True)
    left_out = [c for c in names if c not in present and c not in wanted]
    if left_out:
        typer.echo(f"note: classes {left_out[:10]} have no rows in --features and are not in "
                   "--unseen, so they are left out of the predictions; add them to --unseen to "
                   "predict them.", err=True)
    return wanted


def _print_selection(clf: Any) -> None:
    """The estimator's validation table: each candidate method's held-out score on the folds,
    its spread, time and what became of it (chosen, validated, skipped or stopped)."""
    rows = clf.selection_
    if not rows:
        return
    width = max(len("method"), *(len(r["method"]) for r in rows))
    typer.echo(f"{'method':<{width}} validation score      folds  seconds  status")
    for r in rows:
        score = ("-" if r["score"] != r["score"]  # NaN: not validated
                 else f"{r['score'] * 100:5.1f} +- {r['spread'] * 100:4.1f}")
        typer.echo(f"{r['method']:<{width}} {score:<20} {r['folds']:>6} {r['seconds']:>8.1f}  "
                   f"{r['status']}" + (f" ({r['reason']})" if r["reason"] else ""))
