"""What the site may show: the verified result files, and the rejected ones with their reasons.

Files are read once; their bytes are verified (in parallel worker processes when there are many)
and the very same bytes are then parsed for the site.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from suite.results import MAX_FILE_BYTES, ResultFile, parse_json_bytes, validate_result
from suite.submission_layout import run_identity
from suite.verify import Verifier, find_files

#: Below this many files, verification runs in this process (worker start-up would cost more).
PARALLEL_FROM = 16


@dataclass(frozen=True)
class Accepted:
    """A verified result: where it came from, what it says, who signed it, and whether the suite
    re-scores its scores (``re-scored``) or takes them on the signer's word (``self-reported``:
    :attr:`suite.verdict.Report.scores`)."""

    path: Path
    result: ResultFile
    signer: str
    scores: str = "self-reported"


_worker_verifier: Verifier | None = None


def _init_worker(signers: Path, data_dir: Path | None, cache_dir: Path | None) -> None:
    global _worker_verifier
    _worker_verifier = Verifier(signers, data_dir, cache_dir)


def _verdict(verifier: Verifier, path: Path, data: bytes | None) -> tuple[bool, str, str]:
    """(passed, signer or the first failed check, re-scored or self-reported)."""
    report = verifier.verify(path, data=data)
    if report.ok and data is not None:
        return True, report.signer or "?", report.scores
    failed = next((c for c in report.checks if c.status == "fail"), None)
    return False, f"{failed.name}: {failed.message}" if failed else "not verified", report.scores


def _verdict_in_worker(path: Path, data: bytes | None) -> tuple[bool, str, str]:
    assert _worker_verifier is not None
    return _verdict(_worker_verifier, path, data)


def _read(path: Path) -> bytes | None:
    """A regular file's bytes if it is within the size limit; None otherwise (the verifier then reads
    it itself and says what is wrong: a link, too large, unreadable). The size is checked before
    anything is read, so a huge file costs no memory."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_FILE_BYTES:
                return None
            return handle.read(MAX_FILE_BYTES + 1)  # grown since: parse_json_bytes refuses it
    except OSError:
        return None


def collect(roots: list[Path], signers: Path, data_dir: Path | None, cache_dir: Path | None = None,
            jobs: int | None = None) -> tuple[list[Accepted], list[tuple[Path, str]]]:
    """Verify every ``*.json`` under ``roots``; (accepted, rejected as (path, first failed check)).

    Args:
        jobs: worker processes (default: the CPUs, at most 8; one below PARALLEL_FROM files).
    """
    files = find_files(roots)
    blobs = [_read(p) for p in files]
    jobs = jobs or min(8, os.cpu_count() or 1)
    if jobs > 1 and len(files) >= PARALLEL_FROM:
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(signers, data_dir, cache_dir)) as pool:
            verdicts = list(pool.map(_verdict_in_worker, files, blobs, chunksize=4))
    else:
        verifier = Verifier(signers, data_dir, cache_dir)
        verdicts = [_verdict(verifier, p, b) for p, b in zip(files, blobs)]
    accepted, rejected = [], []
    seen: dict[tuple, Path] = {}
    for path, data, (ok, detail, scores) in zip(files, blobs, verdicts):
        if not ok:
            rejected.append((path, detail))
            continue
        result = validate_result(parse_json_bytes(data, path)["result"], path)  # the bytes that were verified
        identity = run_identity(result)
        if identity in seen:
            rejected.append((path, f"unique: the same run as {seen[identity]}"))
            continue
        seen[identity] = path
        accepted.append(Accepted(path=path, result=result, signer=detail, scores=scores))
    return accepted, rejected
