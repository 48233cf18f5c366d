"""``suite verify --rerun K``: re-score K architectures of a result here and compare with the file."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from suite.errors import SuiteError
from suite.estimator import RunContext
from suite.results import ResultFile, decode_scores


def rescore(result: ResultFile, benchmark, k: int, seed_text: str, data_dir, cache_dir, rtol: float,
            require_installed: bool = False) -> str:
    """Re-score ``k`` architectures (chosen by a generator seeded with ``seed_text``, the file's
    digest, so the choice is reproducible and not the submitter's) and compare.

    Values must be bit-identical when this machine runs the file's torch version and thread count
    on a CPU, and equal within ``rtol`` otherwise. Up to ``k`` of the architectures the file lists
    as failed are re-scored too: one that scores here was left out of the criteria without cause.
    Whether the estimator is deterministic is taken from the installed class, not from the file.

    Raises:
        CheckSkipped: the estimator is not installed here, not deterministic, or has snapshots
            that need training (one-shot).
        SuiteError: a re-scored value differs (names the architecture and both values).
    """
    from suite.registry import get_estimator_class
    from suite.scoring import score_chunk
    from suite.verify import CheckSkipped

    name = result.estimator.name
    try:
        cls = get_estimator_class(name)
    except SuiteError:
        if require_installed:
            raise SuiteError(f"estimator {name[:40]!r} is not installed here, so its scores cannot be re-scored") from None
        raise CheckSkipped(f"skipped: estimator {name[:40]!r} is not installed here") from None
    if not cls.deterministic:
        raise CheckSkipped(f"skipped: {name} is not deterministic")
    if [s.label for s in result.snapshots] != ["final"]:
        raise CheckSkipped(f"skipped: {name} has training snapshots; re-scoring needs its training")
    try:
        estimator = cls(**result.estimator.config)
        estimator.bind_space(benchmark.spec.space.name)
    except SuiteError as exc:
        raise SuiteError(f"this suite's {name} does not accept the file's config: {exc}") from None

    rng = np.random.default_rng(int(hashlib.sha256(seed_text.encode()).hexdigest()[:16], 16))
    positions = np.sort(rng.choice(len(result.arch_ids), size=min(k, len(result.arch_ids)), replace=False))
    threads = result.provenance.get("threads")
    environment = result.provenance.get("environment", {})
    same_environment = (isinstance(threads, int) and environment.get("torch") == torch.__version__
                        and str(environment.get("device", "")).startswith("cpu"))
    previous_threads = torch.get_num_threads()
    if isinstance(threads, int) and threads >= 1:
        torch.set_num_threads(threads)
    try:
        ctx = RunContext(space=benchmark.spec.space, seed=result.seed, device=torch.device("cpu"),
                         data_dir=data_dir, cache_dir=cache_dir)
        estimator.prepare(ctx)
        snap = result.snapshots[0]
        stored = _stored_columns(snap, estimator)
        worst = 0.0
        for p in positions.tolist():
            arch_id = result.arch_ids[p]
            [record] = score_chunk([estimator], "final", [(arch_id, benchmark.arch(int(arch_id)))], ctx)
            if name in record.failed:
                raise SuiteError(f"architecture {arch_id} failed here: {record.failed[name]}")
            got = np.atleast_1d(record.scores[name]).astype(np.float64)
            want = np.array([column[p] for column in stored], dtype=np.float64)
            if got.shape != want.shape:
                raise SuiteError(f"architecture {arch_id}: {got.size} values re-scored, {want.size} stored")
            exact = np.array_equal(got, want, equal_nan=True)
            if (same_environment and not exact) or not np.allclose(got, want, rtol=rtol, atol=0, equal_nan=True):
                raise SuiteError(f"architecture {arch_id}: the file says {want.tolist()[:3]}, re-scored here "
                                 f"{got.tolist()[:3]}")
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.nanmax(np.abs(got - want) / np.abs(want)) if not exact else 0.0
            worst = max(worst, float(rel) if np.isfinite(rel) else 0.0)
        failed_ids = [f.arch_id for f in result.failures]
        for arch_id in sorted(rng.choice(failed_ids, size=min(k, len(failed_ids)), replace=False).tolist()
                              if failed_ids else []):
            [record] = score_chunk([estimator], "final", [(arch_id, benchmark.arch(int(arch_id)))], ctx)
            if name not in record.failed:
                raise SuiteError(f"architecture {arch_id} is listed as failed, but scores here; "
                                 "it was left out of the criteria without cause")
    finally:
        torch.set_num_threads(previous_threads)
    failed_note = f"; {min(k, len(result.failures))} listed failures fail here too" if result.failures else ""
    if worst == 0.0:
        return f"{len(positions)} architectures re-scored: bit-identical{failed_note}"
    return f"{len(positions)} architectures re-scored: equal within {worst:.1e} relative (environment differs){failed_note}"


def _stored_columns(snap, estimator) -> list[np.ndarray]:
    """The stored values a re-score yields per architecture: components, per-batch values, or the score."""
    if snap.components:
        names = estimator.components() or tuple(snap.components)
        if set(names) != set(snap.components):
            raise SuiteError(f"the file's components {sorted(snap.components)} are not {list(names)}")
        return [decode_scores(snap.components[name]) for name in names]
    if snap.per_batch:
        return [decode_scores(v) for v in snap.per_batch]
    return [decode_scores(snap.scores)]
