"""Commands for a model on new data: ``predict`` (labels, training on the way when no model is
given) and ``generate`` (synthetic features for chosen classes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from anyshot.cli import checks
from anyshot.cli.base import Threads, exit_on_errors
from anyshot.errors import AnyShotError, ConfigError


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
            help="clswgan | srwgan | factorised-gaussian | attribute-regression | dap",
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
    threads: Threads = None,
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
            checks.table_file("--features", features)
            checks.table_file("--classes", classes)
            from anyshot.config import preset_path
            from anyshot.methods import METHODS
            from anyshot.objectives import OBJECTIVES

            if preset is not None:
                preset_path(preset)
            if method is not None:
                checks.choice("--method", method.lower().replace("_", "-"), sorted(METHODS))
            checks.choice("--objective", objective, sorted(OBJECTIVES))
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
