"""``suite verify --rerun K``: re-score K architectures of a result here and compare with the file."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
import torch

from suite.errors import SuiteError
from suite.estimator import RunContext, component_names, snapshot_labels
from suite.provenance_schema import Environment, Provenance
from suite.registry import build_estimator, get_estimator_class
from suite.results import ResultFile, decode_scores
from suite.runner.scoring import score_chunk
from suite.verdict import CheckSkipped

#: A re-scored per-batch mean may round differently from the stored one (``metrics`` ties the
#: stored scores to the stored per-batch values to this tolerance as well).
MEAN_RTOL = 1e-9


def rescore(result: ResultFile, benchmark, k: int, seed: int, file_digest: str, data_dir, cache_dir, rtol: float,
            require_installed: bool = False) -> str:
    """Re-score ``k`` architectures and compare with the file.

    The architectures are drawn by :func:`sample_positions` from ``seed``, which the verifier
    draws (the submitter cannot know it when signing), mixed with the file's digest; the verdict
    names the seed, so ``--rerun-seed`` reproduces the draw.

    Checks, per drawn architecture: the stored per-batch values (or components, or the score) and
    the score itself equal the re-scored ones, bit-identical when this machine runs the file's
    torch version and thread count on a CPU, within ``rtol`` otherwise; and no two drawn
    architectures are ordered differently by the re-scored values than by the stored ones (a
    tolerance must not let a file break ties or swap near-equal scores). Up to ``k`` of the
    architectures the file lists as failed are re-scored too: one that scores here was left out
    of the criteria without cause. Whether the estimator is deterministic, which snapshots it
    yields and whether it has components are taken from the installed class, not from the file.

    Raises:
        CheckSkipped: the estimator is not installed here, not deterministic, or its snapshots
            need training (one-shot).
        SuiteError: the file's snapshots or components are not the installed estimator's, or a
            re-scored value differs (names the architecture and both values).
        ResultFileError: the file's provenance (thread count, environment) is not of its schema's
            types (names the field).
    """
    estimator = _installed_estimator(result, benchmark, require_installed)
    _check_snapshot_labels(result, estimator)
    positions = sample_positions(len(result.arch_ids), k, seed, file_digest)
    rng = np.random.default_rng([seed, _digest_int(file_digest), 1])
    recorded = result.provenance_model
    threads = _rerun_threads(recorded)
    same_environment = _same_environment(recorded) and threads == recorded.threads
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        ctx = RunContext(space=benchmark.spec.space, seed=result.seed, device=torch.device("cpu"),
                         data_dir=data_dir, cache_dir=cache_dir)
        estimator.prepare(ctx)
        worst = _rescore_positions(result, benchmark, estimator, ctx, positions, same_environment, rtol)
        n_failed = _rescore_failures(result, benchmark, estimator, ctx, rng, k)
    finally:
        torch.set_num_threads(previous_threads)
    failed_note = f"; {n_failed} listed failures fail here too" if n_failed else ""
    drawn = f"{len(positions)} architectures re-scored (rerun seed {seed})"
    if worst == 0.0:
        return f"{drawn}: bit-identical{failed_note}"
    return f"{drawn}: equal within {worst:.1e} relative, same order (environment differs){failed_note}"


def sample_positions(n: int, k: int, seed: int, file_digest: str) -> np.ndarray:
    """Sorted positions of the ``min(k, n)`` architectures to re-score: drawn from the verifier's
    ``seed`` mixed with the file's digest (distinct files get distinct draws; the submitter, who
    controls the digest but not the seed, cannot steer the draw)."""
    rng = np.random.default_rng([seed, _digest_int(file_digest)])
    return np.sort(rng.choice(n, size=min(k, n), replace=False))


def _digest_int(file_digest: str) -> int:
    return int(hashlib.sha256(file_digest.encode()).hexdigest()[:16], 16)


def _installed_estimator(result: ResultFile, benchmark, require_installed: bool):
    """The installed estimator built from the file's config and bound to the benchmark's space.

    Raises CheckSkipped when it is not installed (SuiteError with ``require_installed``) or not
    deterministic, SuiteError when it refuses the file's config."""
    name = result.estimator.name
    try:
        cls = get_estimator_class(name)
    except SuiteError:
        if require_installed:
            raise SuiteError(f"estimator {name[:40]!r} is not installed here, so its scores cannot be re-scored") from None
        raise CheckSkipped(f"skipped: estimator {name[:40]!r} is not installed here") from None
    if not cls.deterministic:
        raise CheckSkipped(f"skipped: {name} is not deterministic")
    try:
        estimator = build_estimator(name, result.estimator.config, benchmark.spec.space.name, require_support=False)
    except SuiteError as exc:
        raise SuiteError(f"this suite's {name} does not accept the file's config: {exc}") from None
    return estimator


def _check_snapshot_labels(result: ResultFile, estimator) -> None:
    """Skip estimators whose installed class yields training snapshots; otherwise the file's
    snapshot labels must be the class's (a renamed or added snapshot must not dodge re-scoring)."""
    expected = snapshot_labels(estimator)
    if expected != ["final"]:
        raise CheckSkipped(f"skipped: {estimator.name} has training snapshots; re-scoring needs its training")
    labels = [s.label for s in result.snapshots]
    if labels != expected:
        raise SuiteError(f"snapshot labels {[label[:20] for label in labels][:4]} are not {expected}, the snapshots "
                         f"this suite's {estimator.name} yields; re-sign the file `suite run` wrote")


def _rerun_threads(recorded: Provenance) -> int | None:
    """The file's thread count, at most this machine's cores (a hostile file must not make the
    verifier start a million threads); None when the count is below 1. A clamped count is not the
    file's environment, so values are then compared within the tolerance."""
    if recorded.threads < 1:
        return None
    return min(recorded.threads, os.cpu_count() or 1)


def _same_environment(recorded: Provenance) -> bool:
    """Whether the file declares this machine's torch version on a CPU (one environment throughout)."""
    environment = recorded.environment
    return (isinstance(environment, Environment) and environment.torch == torch.__version__
            and environment.device.startswith("cpu"))


def _rescore_positions(result, benchmark, estimator, ctx, positions, same_environment: bool, rtol: float) -> float:
    """Re-score the drawn positions of the (only) snapshot; returns the worst relative difference.

    Raises SuiteError for a value that differs, or a pair of architectures whose order differs."""
    snap = result.snapshots[0]
    stored = _stored_columns(snap, estimator, ctx.space.name)
    scores = decode_scores(snap.scores)
    combined = bool(component_names(estimator, ctx.space.name))  # scores combine the population: check the components
    worst, want_rows, got_rows = 0.0, [], []
    for p in positions.tolist():
        arch_id = result.arch_ids[p]
        got = _score_one(estimator, benchmark, arch_id, ctx)
        want = np.array([column[p] for column in stored], dtype=np.float64)
        if got.shape != want.shape:
            raise SuiteError(f"architecture {arch_id}: {got.size} values re-scored, {want.size} stored")
        worst = max(worst, _compare(arch_id, "the file says", want, got, same_environment, rtol, exact_rtol=0.0))
        if not combined:
            got_score, want_score = np.array([got.mean()]), scores[p:p + 1]
            exact_rtol = 0.0 if got.size == 1 else MEAN_RTOL
            worst = max(worst, _compare(arch_id, "its score is", want_score, got_score, same_environment, rtol,
                                        exact_rtol=exact_rtol))
            want, got = np.append(want, want_score), np.append(got, got_score)
        want_rows.append(want)
        got_rows.append(got)
    if want_rows:
        _check_order(result, positions, np.stack(want_rows), np.stack(got_rows))
    return worst


def _score_one(estimator, benchmark, arch_id, ctx) -> np.ndarray:
    """The re-scored values of one architecture (float64 [1], [b] per batch, or [m] components)."""
    [record] = score_chunk([estimator], "final", [(arch_id, benchmark.arch(int(arch_id)))], ctx)
    if estimator.name in record.failed:
        raise SuiteError(f"architecture {arch_id} failed here: {record.failed[estimator.name]}")
    return np.atleast_1d(record.scores[estimator.name]).astype(np.float64)


def _compare(arch_id, what: str, want: np.ndarray, got: np.ndarray, same_environment: bool, rtol: float,
             exact_rtol: float) -> float:
    """Raise SuiteError unless ``got`` equals ``want`` (within ``exact_rtol`` in the file's own
    environment, ``rtol`` otherwise); returns their largest relative difference in another
    environment (0 in the file's own)."""
    tolerance = exact_rtol if same_environment else rtol
    if not np.array_equal(got, want, equal_nan=True):
        if not np.allclose(got, want, rtol=tolerance, atol=0, equal_nan=True):
            raise SuiteError(f"architecture {arch_id}: {what} {want.tolist()[:3]}, re-scored here {got.tolist()[:3]}")
        if same_environment:
            return 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.nanmax(np.abs(got - want) / np.abs(want))
        return float(rel) if np.isfinite(rel) else 0.0
    return 0.0


def _check_order(result, positions, want: np.ndarray, got: np.ndarray) -> None:
    """Every pair of drawn architectures compares the same way (better, tied, worse; non-finite
    values lowest, as the protocol ranks them) by each stored column as by the re-scored one."""
    w = np.where(np.isfinite(want), want, -np.inf)
    g = np.where(np.isfinite(got), got, -np.inf)
    for i in range(len(w)):
        by_file = (w[i] > w[i + 1:]).astype(int) - (w[i] < w[i + 1:]).astype(int)
        by_rescore = (g[i] > g[i + 1:]).astype(int) - (g[i] < g[i + 1:]).astype(int)
        differ = np.flatnonzero((by_file != by_rescore).any(axis=1))
        if differ.size:
            a, b = result.arch_ids[positions[i]], result.arch_ids[positions[i + 1 + differ[0]]]
            raise SuiteError(f"architectures {a} and {b} are ordered differently by the file's values than by "
                             "the values re-scored here: the stored scores were moved")


def _rescore_failures(result, benchmark, estimator, ctx, rng, k: int) -> int:
    """Re-score up to ``k`` of the architectures listed as failed: each must fail here too."""
    failed_ids = [f.arch_id for f in result.failures]
    drawn = sorted(rng.choice(failed_ids, size=min(k, len(failed_ids)), replace=False).tolist()) if failed_ids else []
    for arch_id in drawn:
        [record] = score_chunk([estimator], "final", [(arch_id, benchmark.arch(int(arch_id)))], ctx)
        if estimator.name not in record.failed:
            raise SuiteError(f"architecture {arch_id} is listed as failed, but scores here; "
                             "it was left out of the criteria without cause")
    return len(drawn)


def _stored_columns(snap, estimator, space: str) -> list[np.ndarray]:
    """The stored values a re-score yields per architecture: the components the installed
    estimator names (its scores combine them), else the per-batch values, else the score.

    Raises SuiteError when the file's components are not the installed estimator's (present for
    an estimator without components, missing, or named otherwise)."""
    names: tuple[str, ...] = component_names(estimator, space)
    if snap.components and not names:
        raise SuiteError(f"snapshot {snap.label[:20]!r} has components {_names(snap.components)}, but this suite's "
                         f"{estimator.name} has none: its scores are the score")
    if names:
        if set(names) != set(snap.components or {}):
            raise SuiteError(f"snapshot {snap.label[:20]!r} has components {_names(snap.components or {})}, "
                             f"this suite's {estimator.name} combines {list(names)}")
        return [decode_scores(snap.components[name]) for name in names]
    if snap.per_batch:
        return [decode_scores(v) for v in snap.per_batch]
    return [decode_scores(snap.scores)]


def _names(components: dict[str, Any]) -> list[str]:
    return sorted(name[:20] for name in components)[:4]
