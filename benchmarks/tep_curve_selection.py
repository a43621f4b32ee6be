"""How much of a validation curve's peak survives choosing the epoch on other folds.

    python benchmarks/tep_validation_curve.py --config factorised-gaussian/tep --seeds 0,1,2 >fg.txt
    python benchmarks/tep_validation_curve.py --config clswgan/tep --seeds 0,1,2 >gan.txt
    python benchmarks/tep_curve_selection.py fg.txt gan.txt ...

Reads curves written by ``tep_validation_curve.py`` (one line per group and seed; a seed is a
different validation fold). The first file is the reference (a closed-form method: one value per
fold). For every other file prints:

- the peak of the mean curve (the epoch chosen on the very folds it is scored on: optimistic);
- the leave-one-fold-out score: for each group and fold, the epoch is chosen on the mean curve
  of the group's other folds and the held-out fold's value at that epoch is taken; the mean
  over every group and fold. This is what an epoch chosen on validation is worth on a problem
  it was not chosen on;
- the mean paired difference from the reference on those held-out folds, +- its standard error.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

LINE = re.compile(r"group (\w+) seed (\d+): (.*)")


def read_curves(path: Path) -> dict[tuple[str, int], np.ndarray]:
    out = {}
    for line in Path(path).read_text().splitlines():
        m = LINE.match(line)
        if m:
            out[(m.group(1), int(m.group(2)))] = np.array([float(v) for v in m.group(3).split()])
    return out


def peak_of_mean(curves: dict[tuple[str, int], np.ndarray]) -> float:
    """Mean over groups of the maximum of the group's fold-mean curve."""
    groups = sorted({g for g, _ in curves})
    return float(np.mean([np.mean([c for (g2, _), c in curves.items() if g2 == g], 0).max()
                          for g in groups]))


def leave_one_fold_out(curves: dict[tuple[str, int], np.ndarray]) -> dict[tuple[str, int], float]:
    """Per (group, fold): the fold's value at the epoch that maximizes the mean curve of the
    group's other folds (the first such epoch on ties)."""
    out = {}
    for (group, fold), curve in curves.items():
        others = [c for (g, f), c in curves.items() if g == group and f != fold]
        if not others:
            raise ValueError(f"group {group} has one fold only; leave-one-fold-out needs two.")
        out[(group, fold)] = float(curve[int(np.argmax(np.mean(others, 0)))])
    return out


def main(paths: list[str]) -> None:
    reference = {k: float(v[0]) for k, v in read_curves(Path(paths[0])).items()}
    print(f"reference {paths[0]}: {100 * np.mean(list(reference.values())):.1f}")
    print("| curve | peak of the mean curve | leave-one-fold-out | minus reference (+- s.e.) |")
    print("|---|---|---|---|")
    for path in paths[1:]:
        curves = read_curves(Path(path))
        held = leave_one_fold_out(curves)
        diff = 100 * np.array([held[k] - reference[k] for k in held])
        print(f"| {Path(path).stem} | {100 * peak_of_mean(curves):.1f} | "
              f"{100 * np.mean(list(held.values())):.1f} | {diff.mean():+.1f} +- "
              f"{diff.std(ddof=1) / np.sqrt(diff.size):.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
