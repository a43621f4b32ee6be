"""Hyperparameter search with Optuna, scored on the validation split only.

    space, metric = load_search_space("space.yaml")
    result = run_sweep(load_config("clswgan/synthetic"), space, n_trials=30, metric=metric)
    write_best_config(result, "best_config.yaml")
    # then: anyshot train --config best_config.yaml

A search space is a YAML-friendly mapping from dotted config paths to distributions::

    metric: gzsl_h                      # optional; default gzsl_h (gfsl_h with shots), else zsl
    space:
      method.params.lr:        {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      method.params.hidden:    {type: int, low: 64, high: 512, log: true}
      method.params.cls_weight: {type: categorical, choices: [0.1, 1.0]}

Every trial applies the sampled values to the config, trains on the validation problem carved
from the training classes (:meth:`AnyShotData.validation_view`, exactly as the ``honest``
protocol does), evaluates on the validation sets every ``eval_every`` epochs and scores the trial
with the best validation value of the metric. The test split is never evaluated: the sweep picks
hyperparameters, ``anyshot train`` then reads test once.

Studies live in any SQLAlchemy URL (default: ``sqlite:///<dir>/sweep.db``) and are resumable:
running a sweep again with the same study name adds trials to it.

Where the parts live, top down:

    output.py        sweep_command (the body of ``anyshot sweep``), write_best_config
    study.py         run_sweep, SweepResult, the study's storage
    search_space.py  reading and checking a search space
"""

from __future__ import annotations

from anyshot.sweep.output import sweep_command, write_best_config
from anyshot.sweep.search_space import load_search_space, validate_search_space
from anyshot.sweep.study import SweepResult, default_storage, run_sweep

__all__ = [
    "SweepResult",
    "load_search_space",
    "validate_search_space",
    "run_sweep",
    "write_best_config",
    "sweep_command",
    "default_storage",
]
