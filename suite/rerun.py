"""``suite verify --rerun K``: re-score architectures of a result here and compare with the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from suite.errors import SuiteError
from suite.estimator import RunContext, component_names, snapshot_labels, trains
from suite.provenance_schema import Provenance
from suite.registry import build_estimator, get_estimator_class
from suite.results import ResultFile, decode_scores
from suite.runner.scoring import score_chunk
from suite.verdict import CheckSkipped
from suite.weights import file_name, load_weights, signed_weights

#: A re-scored per-batch mean may round differently from the stored one (``metrics`` ties the
#: stored scores to the stored per-batch values to this tolerance as well).
MEAN_RTOL = 1e-9
#: The widest absolute tolerance the verifier grants whatever an estimator declares.
MAX_ATOL = 2e-3
#: Architectures scored per call when every architecture is re-scored.
FULL_CHUNK = 256


def rescore(result: ResultFile, benchmark, k: int, seed: int, file_digest: str, data_dir, cache_dir, rtol: float,
            require_installed: bool = False, atol: float = MAX_ATOL, weights_dir: Path | None = None) -> str:
    """Re-score ``k`` architectures of every snapshot (all of them for an exact estimator) and
    compare with the file.

    The architectures are drawn by :func:`sample_positions` from ``seed``, which the verifier
    draws (the submitter cannot know it when signing), mixed with the file's digest; the verdict
    names the seed, so ``--rerun-seed`` reproduces the draw. An estimator that trains is re-scored
    from the weights beside the file (``weights_dir``, :mod:`suite.weights`), each file's content
    checked against the sha256 the result signs before it is loaded.

    What is compared, and how closely, is decided here from the installed estimator's class, never
    from what the file says about itself (its device or torch version): an estimator declaring exact
    scores (:attr:`~suite.estimator.Capabilities.rerun_tolerance` (0, 0): integer counts) is re-scored
    on every architecture and must match exactly; any other within its declared tolerance, capped
    at ``rtol`` relative and ``atol`` absolute. Per re-scored architecture the stored per-batch
    values (or components, or the score) and the score itself must match; and the re-scored
    architectures must be ordered alike by the file's values and the re-scored ones, ties
    included (a tie in the file is a tie here, and a tie here one in the file), beyond the
    estimator's absolute tolerance. Up to ``k`` of the architectures the file lists as failed are
    re-scored too: one that scores here was left out of the criteria without cause.

    Raises:
        CheckSkipped: the estimator is not installed here or not deterministic, or it trains and no
            weights are beside the file (its scores are self-reported).
        SuiteError: the file's snapshots or components are not the installed estimator's, a weights
            file is missing or not the signed one, or a re-scored value differs (names the
            architecture and both values).
        ResultFileError: the file's provenance (thread count) is not of its schema's types.
    """
    estimator = _installed_estimator(result, benchmark, require_installed)
    trained = trains(estimator)
    _check_snapshot_labels(result, estimator, trained)
    declared_rtol, declared_atol = type(estimator).capabilities.rerun_tolerance
    rtol, atol = min(float(declared_rtol), rtol), min(float(declared_atol), atol)
    exact = rtol == 0.0 and atol == 0.0
    n = len(result.arch_ids)
    positions = np.arange(n) if exact else sample_positions(n, k, seed, file_digest)
    rng = np.random.default_rng([seed, _digest_int(file_digest), 1])
    threads = _rerun_threads(result.provenance_model)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        ctx = RunContext(space=benchmark.spec.space, seed=result.seed, device=torch.device("cpu"),
                         data_dir=data_dir, cache_dir=cache_dir)
        if trained:
            n_files = _load_trained_weights(result, estimator, ctx, weights_dir)
        else:
            estimator.prepare(ctx)
        worst = max(_rescore_positions(result, snap, benchmark, estimator, ctx, positions, rtol, atol)
                    for snap in result.snapshots)
        n_failed = _rescore_failures(result, benchmark, estimator, ctx, rng, k)
    finally:
        torch.set_num_threads(previous_threads)
    failed_note = f"; {n_failed} listed failures fail here too" if n_failed else ""
    if exact:
        return f"all {n} architectures re-scored (exact scores; rerun seed {seed}): identical{failed_note}"
    what = f"{len(positions)} architectures"
    if trained:
        what += f" x {len(result.snapshots)} snapshot(s) re-scored from the {n_files} signed weights file(s)"
    else:
        what += " re-scored"
    drawn = f"{what} (rerun seed {seed})"
    if worst == 0.0:
        return f"{drawn}: bit-identical{failed_note}"
    return f"{drawn}: equal within {worst:.1e} relative, same order{failed_note}"


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


def _check_snapshot_labels(result: ResultFile, estimator, trained: bool) -> None:
    """The file's snapshot labels must be the installed class's (a renamed or added snapshot must not
    dodge re-scoring); only an estimator that trains may yield more than ``final``."""
    expected = snapshot_labels(estimator)
    if expected != ["final"] and not trained:
        raise CheckSkipped(f"skipped: {estimator.name} has training snapshots but no weights to load")
    labels = [s.label for s in result.snapshots]
    if labels != expected:
        raise SuiteError(f"snapshot labels {[label[:20] for label in labels][:4]} are not {expected[:6]}, the snapshots "
                         f"this suite's {estimator.name} yields; re-sign the file `suite run` wrote")


def _load_trained_weights(result: ResultFile, estimator, ctx: RunContext, weights_dir: Path | None) -> int:
    """Hand the estimator the weights beside the file, each checked against the sha256 the result
    signs before it is loaded; returns the number of files.

    Raises CheckSkipped when the file names no weights or none are beside it (self-reported),
    SuiteError when one is missing, malformed, or not the signed one."""
    name = estimator.name
    signed = signed_weights(result.provenance, name)
    if not signed:
        raise CheckSkipped(f"skipped: {name} has training snapshots and the file names no trained weights "
                           "(provenance.data): its scores are self-reported")
    if weights_dir is None or not Path(weights_dir).is_dir():
        where = f" ({weights_dir}/)" if weights_dir is not None else ""
        raise CheckSkipped(f"skipped: {name} has training snapshots and no weights are beside the file{where}: "
                           "its scores are self-reported")
    weights = {key: load_weights(Path(weights_dir) / file_name(key, name), sha256) for key, sha256 in signed.items()}
    estimator.load_trained_weights(weights, ctx)
    return len(weights)


def _rerun_threads(recorded: Provenance) -> int | None:
    """The file's thread count (the CPU path to reproduce), at most this machine's cores (a hostile
    file must not make the verifier start a million threads); None when the count is below 1."""
    if recorded.threads < 1:
        return None
    return min(recorded.threads, os.cpu_count() or 1)


def _rescore_positions(result, snap, benchmark, estimator, ctx, positions, rtol: float, atol: float) -> float:
    """Re-score snapshot ``snap`` at ``positions``; returns the worst relative difference.


    Raises SuiteError for a value that differs, or a pair of architectures ordered differently."""
    stored = _stored_columns(snap, estimator, ctx.space.name)
    scores = decode_scores(snap.scores)
    combined = bool(component_names(estimator, ctx.space.name))  # scores combine the population: check the components
    ids = [result.arch_ids[p] for p in positions.tolist()]
    got_all = _score_many(estimator, benchmark, snap.label, ids, ctx)
    worst, want_rows, got_rows = 0.0, [], []
    for p, arch_id, got in zip(positions.tolist(), ids, got_all):
        want = np.array([column[p] for column in stored], dtype=np.float64)
        if got.shape != want.shape:
            raise SuiteError(f"architecture {arch_id}: {got.size} values re-scored, {want.size} stored")
        worst = max(worst, _compare(arch_id, snap.label, "the file says", want, got, rtol, atol))
        if not combined:
            got_score, want_score = np.array([got.mean()]), scores[p:p + 1]
            mean_rtol = rtol if got.size == 1 else max(rtol, MEAN_RTOL)
            worst = max(worst, _compare(arch_id, snap.label, "its score is", want_score, got_score, mean_rtol, atol))
            want, got = np.append(want, want_score), np.append(got, got_score)
        want_rows.append(want)
        got_rows.append(got)
    if want_rows:
        _check_order(ids, snap.label, np.stack(want_rows), np.stack(got_rows), atol)
    return worst


def _score_many(estimator, benchmark, label: str, ids: list, ctx) -> list[np.ndarray]:
    """The re-scored values of each architecture (float64 [1], [b] per batch, or [m] components)."""
    step = max(1, min(getattr(estimator, "chunk_size", FULL_CHUNK), FULL_CHUNK))
    out = []
    for start in range(0, len(ids), step):
        chunk = [(arch_id, benchmark.arch(int(arch_id))) for arch_id in ids[start:start + step]]
        for record in score_chunk([estimator], label, chunk, ctx):
            if estimator.name in record.failed:
                raise SuiteError(f"architecture {record.arch_id} failed here: {record.failed[estimator.name]}")
            out.append(np.atleast_1d(record.scores[estimator.name]).astype(np.float64))
    return out


def _compare(arch_id, label: str, what: str, want: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> float:
    """Raise SuiteError unless ``got`` equals ``want`` within ``rtol`` relative plus ``atol``
    absolute (exactly when both are 0); returns their largest relative difference."""
    if np.array_equal(got, want, equal_nan=True):
        return 0.0
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        where = f"architecture {arch_id}" + ("" if label == "final" else f" (snapshot {label[:20]})")
        raise SuiteError(f"{where}: {what} {want.tolist()[:3]}, re-scored here {got.tolist()[:3]}")
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.nanmax(np.abs(got - want) / np.abs(want))
    return float(rel) if np.isfinite(rel) else 0.0


def _check_order(ids: list, label: str, want: np.ndarray, got: np.ndarray, atol: float) -> None:
    """Every pair of re-scored architectures compares the same way (better, tied, worse; non-finite
    values lowest, as the protocol ranks them) by each stored column as by the re-scored one. Pairs
    that are within ``atol`` of each other both in the file and here may compare either way (the
    noise the estimator declares); with ``atol`` 0 the weak orders must be identical."""
    w = np.where(np.isfinite(want), want, -np.inf)
    g = np.where(np.isfinite(got), got, -np.inf)
    if atol == 0.0 and all(np.array_equal(_dense_rank(w[:, c]), _dense_rank(g[:, c])) for c in range(w.shape[1])):
        return  # the same weak order in every column (checked in O(n log n) for a full re-score)
    for i in range(len(w)):
        by_file = np.sign(w[i] - w[i + 1:])
        by_rescore = np.sign(g[i] - g[i + 1:])
        with np.errstate(invalid="ignore"):  # (a difference of exactly atol, as floats, is within it)
            noise = (np.abs(w[i] - w[i + 1:]) <= atol * (1 + 1e-6)) & (np.abs(g[i] - g[i + 1:]) <= atol * (1 + 1e-6))
        by_file, by_rescore = np.nan_to_num(by_file), np.nan_to_num(by_rescore)  # -inf vs -inf: tied
        differ = np.flatnonzero(((by_file != by_rescore) & ~noise).any(axis=1))
        if differ.size:
            a, b = ids[i], ids[i + 1 + differ[0]]
            where = "" if label == "final" else f" (snapshot {label[:20]})"
            raise SuiteError(f"architectures {a} and {b} are ordered differently by the file's values than by "
                             f"the values re-scored here{where}: the stored scores were moved")


def _dense_rank(values: np.ndarray) -> np.ndarray:
    """Rank of each value among the distinct values (ties share one; -inf lowest)."""
    return np.unique(values, return_inverse=True)[1].reshape(-1)


def _rescore_failures(result, benchmark, estimator, ctx, rng, k: int) -> int:
    """Re-score up to ``k`` of the architectures listed as failed: each must fail here too (in some
    snapshot: a failure in one leaves the architecture out of every snapshot)."""
    failed_ids = [f.arch_id for f in result.failures]
    drawn = sorted(rng.choice(failed_ids, size=min(k, len(failed_ids)), replace=False).tolist()) if failed_ids else []
    for arch_id in drawn:
        scored_everywhere = True
        for snap in result.snapshots:
            [record] = score_chunk([estimator], snap.label, [(arch_id, benchmark.arch(int(arch_id)))], ctx)
            scored_everywhere &= estimator.name not in record.failed
        if scored_everywhere:
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
