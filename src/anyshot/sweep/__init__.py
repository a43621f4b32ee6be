"""Hyperparameter search with Optuna, scored on the validation folds only.

    space, metric = load_search_space("space.yaml")
    result = run_sweep(load_config("clswgan/synthetic"), space, n_trials=30, metric=metric)
    write_best_config(result, "best_config.yaml")
    # then: anyshot train --config best_config.yaml

A search space is a YAML-friendly mapping from dotted config paths to distributions::

    metric: gzsl_h      # optional; default gzsl_h (gzsl_cal_h calibrated, with folds >= 2;
                        # gfsl_* with shots) when GZSL is a task, else zsl
    space:
      method.params.lr:        {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      method.params.hidden:    {type: int, low: 64, high: 512, log: true}
      method.params.cls_weight: {type: categorical, choices: [0.1, 1.0]}

Every trial applies the sampled values to the config and trains on the validation problems
carved from the training classes (:func:`anyshot.protocols.folds.validation_views`, exactly as the
``honest`` protocol does). Its score:

    folds >= 2   held-out-fold value of the metric, as ``anyshot train`` records it: every
                 choice (epoch, GZSL classifier, gamma) made on the other folds, scored on
                 each fold, averaged (:func:`anyshot.protocols.folds.held_out_fold_scores`)
    folds = 1    best value of the metric over the evaluated epochs of the one fold

The test split is never evaluated: the sweep picks hyperparameters, ``anyshot train`` then reads
test once.

Studies live in any SQLAlchemy URL (default: ``sqlite:///<dir>/sweep.db``) and are resumable:
running a sweep again with the same study name adds trials to it. Any number of workers
(processes, machines) given one PostgreSQL URL share a study; a running trial sends heartbeats,
and one whose worker died is marked failed and queued again (``docs/sweeps.md``).

Where the parts live, top down:

    output.py        sweep_command / summary_command (the bodies of ``anyshot sweep``),
                     write_best_config
    study.py         run_sweep, SweepResult, the sampler, what a trial scores
    storage.py       open_storage (the study's database, heartbeats, retries), masked URLs
    search_space.py  reading and checking a search space
"""

from __future__ import annotations

from anyshot.sweep.output import summary_command, sweep_command, write_best_config
from anyshot.sweep.search_space import load_search_space, validate_search_space
from anyshot.sweep.storage import (
    HEARTBEAT_SECONDS,
    StorageError,
    default_storage,
    open_storage,
    public_url,
)
from anyshot.sweep.study import SCORES, SweepResult, load_sweep_result, run_sweep

__all__ = [
    "HEARTBEAT_SECONDS",
    "SCORES",
    "StorageError",
    "SweepResult",
    "load_sweep_result",
    "open_storage",
    "public_url",
    "summary_command",
    "load_search_space",
    "validate_search_space",
    "run_sweep",
    "write_best_config",
    "sweep_command",
    "default_storage",
]
