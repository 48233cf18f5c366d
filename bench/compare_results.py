"""Compare two directories of result files: same files, bit-identical scores and criteria.

    python bench/compare_results.py BEFORE_DIR AFTER_DIR

Prints one line per file (`same` or what differs) and exits 1 when anything differs. Used to
prove that a refactor changed no number (bench/equivalence_runs.sh makes the directories).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _numbers(path: Path) -> dict:
    result = json.loads(path.read_text())["result"]
    return {
        "arch_ids": result["arch_ids"],
        "failures": result["failures"],
        "snapshots": [{k: s[k] for k in ("label", "scores", "criteria", "per_batch", "components")}
                      for s in result["snapshots"]],
        "config": result["estimator"]["config"],
    }


def main(before: str, after: str) -> int:
    a, b = Path(before), Path(after)
    names_a = {p.relative_to(a) for p in a.rglob("*.json") if ".journal" not in p.parts}
    names_b = {p.relative_to(b) for p in b.rglob("*.json") if ".journal" not in p.parts}
    bad = 0
    for name in sorted(names_a | names_b):
        if name not in names_a or name not in names_b:
            print(f"{name}: only in {'after' if name in names_b else 'before'}")
            bad += 1
            continue
        x, y = _numbers(a / name), _numbers(b / name)
        diff = [k for k in x if x[k] != y[k]]
        print(f"{name}: {'same' if not diff else 'DIFFERS in ' + ', '.join(diff)}")
        bad += bool(diff)
    print(f"{len(names_a | names_b)} files, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
