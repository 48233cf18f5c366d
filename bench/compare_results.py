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


def _key(path: Path) -> str:
    """What makes two files the same run here (their names may follow different rules)."""
    result = json.loads(path.read_text())["result"]
    sample = result["benchmark"].get("sample") or {}
    return f"{result['benchmark']['name']}/{result['estimator']['name']}/seed{result['seed']}" + (
        f"-sample{sample.get('n')}" if sample else "")


def _files(root: Path) -> dict[str, Path]:
    return {_key(p): p for p in root.rglob("*.json") if ".journal" not in p.parts}


def main(before: str, after: str) -> int:
    a, b = _files(Path(before)), _files(Path(after))
    bad = 0
    for key in sorted(a.keys() | b.keys()):
        if key not in a or key not in b:
            print(f"{key}: only in {'after' if key in b else 'before'}")
            bad += 1
            continue
        x, y = _numbers(a[key]), _numbers(b[key])
        diff = [k for k in x if x[k] != y[k]]
        print(f"{key}: {'same' if not diff else 'DIFFERS in ' + ', '.join(diff)}")
        bad += bool(diff)
    print(f"{len(a.keys() | b.keys())} runs, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
