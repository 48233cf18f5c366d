"""Multi-model forgetting of a one-shot training (the study's A3, Fig 13).

"The forgetting value of an architecture is its OS accuracy change while other architectures
train within one epoch." A one-shot run with ``-c forgetting_epochs=...`` records, for the
architectures trained at the first steps of each listed epoch, the OS accuracy on one fixed
batch right after their own step and at the epoch's end; FV = the first minus the second
(positive = forgotten). The record sits in the result's ``provenance["estimator_record"]
["forgetting"]`` (:meth:`estimators.one_shot.OneShotEstimator.run_record`).

Files written (``stem`` prefixes each):

- ``<stem>-forgetting.csv``: one row per measured epoch (:data:`STAT_COLUMNS`).
- ``<stem>-forgetting-values.csv``: one row per measured architecture (epoch, step, arch, the two
  accuracies, FV).
- ``<stem>-forgetting.json``: the per-epoch statistics and the record's settings.
- ``<stem>-forgetting.svg``: a box plot of FV per epoch (whiskers 1.5 IQR, the mean as a marker).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from suite.analysis.plots import csv_text
from suite.plotting import plt, svg_text

#: Columns of ``<stem>-forgetting.csv``. ``std``: sample standard deviation (ddof 1; empty for
#: one value); quantiles interpolate linearly; ``frac_forgotten``: share of FV > 0.
STAT_COLUMNS: tuple[str, ...] = (
    "epoch", "n", "mean", "std", "min", "q10", "q25", "median", "q75", "q90", "max", "frac_forgotten",
    "mean_acc_after_step", "mean_acc_epoch_end",
)


def forgetting_record(result: Any) -> dict[str, Any] | None:
    """The forgetting record of a result (a :class:`~suite.results.ResultFile` or its JSON dict), or None."""
    provenance = result.get("provenance", {}) if isinstance(result, dict) else getattr(result, "provenance", {})
    record = (provenance or {}).get("estimator_record", {}).get("forgetting")
    return record if isinstance(record, dict) and record.get("epochs") else None


def epoch_statistics(epoch: int, entry: dict[str, Any]) -> dict[str, Any]:
    """One row of :data:`STAT_COLUMNS` from one epoch's record (``fv``, ``acc_after_step``, ``acc_epoch_end``)."""
    fv = np.asarray(entry.get("fv", []), dtype=np.float64)
    after = np.asarray(entry.get("acc_after_step", []), dtype=np.float64)
    end = np.asarray(entry.get("acc_epoch_end", []), dtype=np.float64)
    if not (len(fv) == len(after) == len(end)):
        raise ValueError(f"forgetting record of epoch {epoch}: fv, acc_after_step and acc_epoch_end differ in length")
    n = len(fv)
    row: dict[str, Any] = {"epoch": epoch, "n": n}
    if n == 0:
        return {**row, **{c: None for c in STAT_COLUMNS[2:]}}
    q = np.quantile(fv, [0.10, 0.25, 0.5, 0.75, 0.90])
    row.update({
        "mean": float(fv.mean()), "std": float(fv.std(ddof=1)) if n > 1 else None,
        "min": float(fv.min()), "q10": float(q[0]), "q25": float(q[1]), "median": float(q[2]), "q75": float(q[3]),
        "q90": float(q[4]), "max": float(fv.max()), "frac_forgotten": float((fv > 0).mean()),
        "mean_acc_after_step": float(after.mean()), "mean_acc_epoch_end": float(end.mean()),
    })
    return row


def _box_plot(epochs: list[int], values: list[np.ndarray], title: str) -> str:
    fig, ax = plt.subplots(figsize=(max(3.6, 0.7 * len(epochs) + 2.0), 3.4))
    positions = list(range(1, len(epochs) + 1))
    ax.boxplot(values, positions=positions, widths=0.5, showmeans=True, whis=1.5,
               meanprops={"marker": "D", "markerfacecolor": "#d62728", "markeredgecolor": "#d62728", "markersize": 4},
               medianprops={"color": "#1f77b4"}, flierprops={"marker": ".", "markersize": 3, "alpha": 0.6})
    ax.axhline(0.0, color="#444444", linewidth=0.6)
    ax.set_xticks(positions, [str(e) for e in epochs])
    ax.set_xlabel("epoch")
    ax.set_ylabel("forgetting value (OS acc after own step − at epoch end)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    return svg_text(fig)


def forgetting_analysis(result: Any, out_dir: Path, stem: str) -> dict[str, Any] | None:
    """Per-epoch FV statistics, the values, and the box plot of a one-shot result; None when the
    result holds no forgetting record (the option was off, or not a one-shot estimator).

    Returns:
        JSON-ready summary: ``files`` (names relative to ``out_dir``), ``epochs`` (the measured
        epochs, ascending), ``n`` (FVs in all), ``mean_fv`` and ``std_fv`` (per epoch, keyed by the
        epoch as a string), ``eval_batch``.
    """
    record = forgetting_record(result)
    if record is None:
        return None
    epochs = sorted(int(e) for e in record["epochs"])
    entries = [record["epochs"][str(e)] for e in epochs]
    rows = [epoch_statistics(e, entry) for e, entry in zip(epochs, entries)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[str] = []

    def write(name: str, text: str) -> None:
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
        files.append(name)

    write(f"{stem}-forgetting.csv", csv_text(STAT_COLUMNS, [[r[c] for c in STAT_COLUMNS] for r in rows]))
    values = []
    for e, entry in zip(epochs, entries):
        n = len(entry.get("fv", []))
        steps = entry.get("step", [None] * n)
        archs = entry.get("arch", [None] * n)
        for k in range(n):
            values.append([e, steps[k], archs[k], float(entry["acc_after_step"][k]), float(entry["acc_epoch_end"][k]),
                           float(entry["fv"][k])])
    write(f"{stem}-forgetting-values.csv",
          csv_text(("epoch", "step", "arch", "acc_after_step", "acc_epoch_end", "fv"), values))
    name = _title(result)
    write(f"{stem}-forgetting.svg",
          _box_plot(epochs, [np.asarray(entry.get("fv", []), dtype=np.float64) for entry in entries],
                    f"multi-model forgetting{': ' + name if name else ''}"))
    summary = {
        "files": [], "epochs": epochs, "n": int(sum(r["n"] for r in rows)),
        "mean_fv": {str(r["epoch"]): r["mean"] for r in rows}, "std_fv": {str(r["epoch"]): r["std"] for r in rows},
        "eval_batch": record.get("eval_batch"),
    }
    json_name = f"{stem}-forgetting.json"
    summary["files"] = [*files, json_name]
    settings = {k: record[k] for k in ("eval_batch", "bn", "steps", "seed") if k in record}
    write(json_name, json.dumps({**summary, "settings": settings, "statistics": rows}, indent=1, sort_keys=True,
                                allow_nan=False) + "\n")
    return summary


def _title(result: Any) -> str:
    """``<estimator> on <benchmark>, seed <s>`` when the result says so (else empty)."""
    try:
        if isinstance(result, dict):
            return f"{result['estimator']['name']} on {result['benchmark']['name']}, seed {result['seed']}"
        return f"{result.estimator.name} on {result.benchmark.name}, seed {result.seed}"
    except (KeyError, AttributeError, TypeError):
        return ""
