"""Scoring a chunk of architectures, with failures isolated to the architecture (and estimator) that failed.

A chunk is scored in one call. When that call raises, each architecture is retried alone; when a
fused group fails on one architecture, each estimator is retried alone, so one estimator's
failure does not cost the others their scores. A CUDA out-of-memory error on a single
architecture empties the allocator cache and retries with the estimator's batch split
(:meth:`Estimator.split_batch`) until it fits or cannot be split further. What still fails
becomes a failure record with a one-line reason; the run goes on.

Errors of the suite itself (:class:`SuiteError`: a broken estimator contract, bad settings) and
interrupts are not failures of an architecture: they propagate and stop the run. So do CUDA
errors that leave the device unusable (an illegal memory access, a launch failure, an ECC error):
every later call would fail alike, so they stop the run as :class:`DeviceLostError`, keeping the
journal, instead of turning every remaining architecture into a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from suite.errors import SuiteError
from suite.estimator import Estimator, RunContext, snapshot_labels
from suite.runner.journal import ArchRecord

#: Longest failure reason kept (characters).
MAX_REASON = 300

#: Message fragments of CUDA's "sticky" errors, after which the process's CUDA context is unusable
#: (cudaErrorIllegalAddress, LaunchFailure, Assert, IllegalInstruction, MisalignedAddress,
#: ECCUncorrectable, LaunchTimeout, HardwareStackError, InvalidPc). Others (cuDNN "not supported",
#: out of memory) can be particular to one architecture and stay per-architecture failures.
DEVICE_LOST_MESSAGES = ("illegal memory access", "unspecified launch failure", "device-side assert triggered",
                        "illegal instruction", "misaligned address", "uncorrectable ecc error",
                        "launch timed out", "hardware stack error", "invalid program counter")


class DeviceLostError(SuiteError):
    """The accelerator failed in a way that makes every later call in this process fail."""


def is_device_lost(exc: BaseException) -> bool:
    """A CUDA error that leaves the device unusable for the rest of the process.

    Only the first line is read: torch appends a hint about device-side assertions to every CUDA
    error, which must not make an ordinary (per-architecture) error look like a lost device."""
    if not isinstance(exc, RuntimeError) or is_out_of_memory(exc):
        return False
    first_line = (str(exc).strip().splitlines() or [""])[0].lower()
    return any(m in first_line for m in DEVICE_LOST_MESSAGES)


def _stop_if_device_lost(exc: BaseException, items: Sequence[tuple[Any, Any]]) -> None:
    if is_device_lost(exc):
        where = f"architecture {items[0][0]}" if len(items) == 1 else \
            f"a chunk of {len(items)} architectures from {items[0][0]}"
        raise DeviceLostError(
            f"the device failed while scoring {where} ({failure_reason(exc)}) and cannot score "
            "more in this process; the journal keeps what was scored: check the GPU (nvidia-smi, Xid errors "
            "in dmesg), then re-run the same command to resume") from None


def fusion_groups(estimators: Sequence[Estimator]) -> list[list[int]]:
    """Indices of the estimators scored together: single-snapshot estimators of one class and one
    fusion group share a sweep; every other estimator is alone. Order: first appearance."""
    groups: dict[Any, list[int]] = {}
    for i, estimator in enumerate(estimators):
        key = estimator.fusion_group() if estimator.capabilities.fusion else None
        if key is None or snapshot_labels(estimator) != ["final"]:
            key = ("alone", i)
        groups.setdefault((type(estimator).score_fused.__func__, key), []).append(i)
    return list(groups.values())


def score_chunk(group: Sequence[Estimator], label: str, items: Sequence[tuple[Any, Any]],
                ctx: RunContext) -> list[ArchRecord]:
    """One record per architecture of ``items`` ((arch_id, arch) pairs) for every estimator of ``group``.

    Raises:
        SuiteError: an estimator broke its contract (wrong shape, ...); KeyboardInterrupt passes through.
    """
    archs = [arch for _, arch in items]
    try:
        arrays = _call(group, archs, ctx, label)
    except SuiteError:
        raise
    except Exception as exc:
        _stop_if_device_lost(exc, items)
        # Keep only what the retries need: the exception's traceback holds the failed call's
        # frames (on a GPU, its activations), which must be freed before a retry can fit.
        error = _Failure(failure_reason(exc), is_out_of_memory(exc))
        del exc
    else:
        records = [ArchRecord(arch_id=arch_id, label=label) for arch_id, _ in items]
        for estimator, values in zip(group, arrays):
            for row, record in zip(values, records):
                record.scores[estimator.name] = row
        return records
    if len(items) > 1:
        return [record for item in items for record in score_chunk(group, label, [item], ctx)]
    if len(group) > 1:
        merged = ArchRecord(arch_id=items[0][0], label=label)
        for estimator in group:
            alone = score_chunk([estimator], label, items, ctx)[0]
            merged.scores.update(alone.scores)
            merged.failed.update(alone.failed)
            merged.retried.update(alone.retried)
        return [merged]
    return [_retry_single(group[0], label, items[0], ctx, error)]


class _Failure(NamedTuple):
    reason: str
    out_of_memory: bool


def _call(group: Sequence[Estimator], archs: list, ctx: RunContext, label: str) -> list[np.ndarray]:
    if len(group) == 1:
        raw = [group[0].score(archs, ctx, label)]
    else:
        raw = type(group[0]).score_fused(group, archs, ctx)
    if len(raw) != len(group):
        raise SuiteError(f"{type(group[0]).__name__}.score_fused returned {len(raw)} score arrays for {len(group)} estimators")
    arrays = []
    for estimator, values in zip(group, raw):
        values = np.asarray(values, dtype=np.float64)
        if values.ndim not in (1, 2) or values.shape[0] != len(archs):
            raise SuiteError(
                f"estimator {estimator.name!r} returned scores of shape {values.shape} for {len(archs)} architectures"
            )
        arrays.append(values)
    return arrays


def _retry_single(estimator: Estimator, label: str, item: tuple[Any, Any], ctx: RunContext,
                  error: _Failure) -> ArchRecord:
    """A single estimator failed on a single architecture: split the batch on OOM, else record the failure."""
    record = ArchRecord(arch_id=item[0], label=label)
    splits: list[str] = []
    try:
        while error.out_of_memory:
            _free_cached_memory()
            how = estimator.split_batch() if estimator.capabilities.splits_batch else None
            if how is None:
                break
            splits.append(how)
            try:
                [values] = _call([estimator], [item[1]], ctx, label)
            except SuiteError:
                raise
            except Exception as exc:
                _stop_if_device_lost(exc, [item])
                error = _Failure(failure_reason(exc), is_out_of_memory(exc))
                del exc
                continue
            record.scores[estimator.name] = values[0]
            record.retried[estimator.name] = f"out of memory; scored with {how}"
            return record
    finally:
        if splits:
            estimator.restore_batch()
    reason = error.reason
    if splits:
        reason += f" (after retrying with {splits[-1]})"
    record.failed[estimator.name] = reason
    return record


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA (or other accelerator) out-of-memory errors, which a smaller batch may avoid."""
    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def _free_cached_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def failure_reason(exc: BaseException) -> str:
    """``Type: first line of the message``, at most MAX_REASON characters."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if is_out_of_memory(exc):
        reason = "out of memory: " + message
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."
