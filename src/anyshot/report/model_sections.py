"""The sections drawn from a run's saved model: the confusion matrix on the unseen classes and the
real-vs-synthetic embedding."""

from __future__ import annotations

import numpy as np

from anyshot.errors import AnyShotError
from anyshot.report.feature_match import class_match
from anyshot.report.figures import confusion_figure, embed_2d, embedding_figure, png_bytes
from anyshot.report.page import Section, match_summary, match_table
from anyshot.report.run_files import RunFiles


def model_sections(run: RunFiles, embedding: str, max_points: int, device: str) -> list[Section]:
    """(c) confusion matrix on the unseen classes and (d) the real/synthetic embedding, for the
    first seed; each becomes a note when it cannot be drawn."""
    from anyshot.evaluation.metrics import per_class_accuracy
    from anyshot.evaluation.task import Task
    from anyshot.experiment import prepare_data
    from anyshot.methods import Method

    seed = run.records[0].seed
    conf = Section("Confusion matrix on the unseen classes", "confusion_unseen.png")
    emb = Section("Real vs synthetic features of the unseen classes", "embedding.png")
    seed_dir = run.run_dir / f"seed_{seed}"
    model_dir = next((seed_dir / t for t in ("zsl", "gzsl")
                      if (seed_dir / t / "model.json").is_file()),
                     None)
    if model_dir is None:
        why = (f"no saved model in {str(seed_dir)!r} (protocol {run.config.evaluation.protocol!r}"
               " does not save models)" if run.config.evaluation.protocol == "test-selection"
               else f"no saved model under {str(seed_dir)!r}")
        conf.note = emb.note = f"Skipped: {why}."
        return [conf, emb]
    try:
        data = prepare_data(run.config)
        method = Method.load(model_dir, device=device)
    except AnyShotError as exc:
        conf.note = emb.note = f"Skipped: could not reload the data or model ({exc})."
        return [conf, emb]

    # (c) the ZSL classifier of evaluate(): candidates and synthetic classes are the unseen ones,
    # the k shots of novel classes (few-shot splits) join as real samples.
    zsl = Task.of(data, "zsl")
    unseen = zsl.candidates
    clf = method.build_classifier(zsl, data.X[zsl.real_rows], data.y[zsl.real_rows])
    t = zsl.test_unseen
    y_true, y_pred = data.y[t], clf.predict(data.X[t])
    k = unseen.size
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.searchsorted(unseen, y_true), np.searchsorted(unseen, y_pred)), 1)
    names = [data.class_names[c] for c in unseen]
    task = zsl.name.upper()
    acc = per_class_accuracy(y_true, y_pred) * 100
    recorded = run.records[0].metrics.get(task.lower())
    conf.png = png_bytes(confusion_figure(
        cm, names, f"{task} confusion on {data.name}, seed {seed} ({acc:.1f}% per-class mean)"))
    conf.caption = (
        f"Model {model_dir.relative_to(run.run_dir)}, classifier rebuilt over the {k} unseen "
        f"classes and applied to their {t.size} test samples. Rows are true classes and sum to "
        f"100%; the diagonal mean, {acc:.1f}%, is the {task} accuracy"
        + (f" (results.jsonl records {recorded * 100:.1f}% for this seed)." if recorded is not None
           else ".")
    )

    # (d) real test features vs synthetic ones, in the space the final classifier is trained in
    # (after the method's feature map: identity for f-CLSWGAN, M's code for SRWGAN).
    if not callable(getattr(method, "synthesize", None)):
        emb.note = (f"Skipped: method {method.name!r} is not generative (it has no synthesize()), "
                    "so there are no synthetic features to compare.")
        return [conf, emb]
    rng = np.random.default_rng(seed)
    n_real = min(t.size, max_points // 2)
    real = np.sort(rng.choice(t, size=n_real, replace=False))
    per_class = max(1, (max_points - n_real) // k)
    import torch

    sx, sy = method.synthesize(unseen, per_class, seed=seed)
    transform = getattr(method, "transform", lambda x: x)
    with torch.no_grad():
        real_all = transform(torch.as_tensor(data.X[t], dtype=torch.float32,
                                             device=sx.device)).cpu().numpy().astype(np.float64)
        syn = transform(sx.float()).cpu().numpy().astype(np.float64)
    sy = sy.detach().cpu().numpy()
    pick = np.searchsorted(t, real)
    X = np.concatenate([real_all[pick], syn])
    y = np.concatenate([data.y[real], sy])
    is_synth = np.arange(y.size) >= n_real
    Z, how, axis, note = embed_2d(X, embedding, seed,
                                  fit_rows=~is_synth if embedding == "pca" else None)
    identity = syn.shape[1] == sx.shape[1] and np.allclose(syn, sx.cpu().numpy())
    space = "the features" if identity else "the codes of the method's feature map"
    emb.png = png_bytes(embedding_figure(
        Z, y, is_synth, unseen, names,
        f"{how} of real and synthetic {'features' if identity else 'codes'} as the final "
        f"classifier sees them, unseen classes of {data.name}, seed {seed}", axis))
    match = class_match(real_all, data.y[t], syn, sy, unseen)
    emb.caption = (
        f"{n_real} real test samples (dots) and {per_class} synthetic features per class (crosses)"
        f" from model {model_dir.relative_to(run.run_dir)}, shown as {space} the final classifier "
        f"is trained on; {note}. A good plot: each colour's crosses lie among the dots of the same"
        " colour, nearer them than any other colour's dots. The final classifier only needs the "
        "synthetic points on the right side of the class boundaries, so crosses may spread wider "
        "than the dots or sit off their centre and still classify well, and two dimensions can "
        "put crosses beside another colour's dots that are far from them in the full space. The "
        f"table below measures it in the full space, over all {t.size} test samples: "
        f"{match_summary(match, names)}. Median ratio {np.median(match.ratio):.2f}; "
        f"{np.mean(match.own_share) * 100:.0f}% of synthetic points nearest their own class.")
    emb.table = match_table(match, names)
    return [conf, emb]
