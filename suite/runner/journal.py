"""The run journal: an append-only JSON Lines file that makes a run survive a crash.

Line 1 is the header: the run's identity (everything that can change a score) and the plan (how
many architectures, hash of their ids). Every later line is one record, written, flushed and
fsync'd as soon as it exists:

- ``{"arch": ID, "label": L, "scores": {estimator: value}, "failed": {estimator: reason}}``: one
  architecture scored for one snapshot label (records that one estimator call produced together,
  a chunk of cheap architectures, are written with one fsync); ``value`` is a float, a list of floats (per-batch
  values or components), with non-finite numbers as the strings of :func:`results.encode_scores`;
  ``retried`` optionally says how a failure was recovered (e.g. a split batch);
- ``{"session": {...}}``: one invocation started (time, host, pid);
- ``{"meta": {...}}``: what the estimators read (data hashes), known once they are prepared;
- ``{"attempt": ID, "label": L}``: scoring ID alone starts (expensive estimators); an outcome
  record clears it, so marks left behind name the architecture that killed the process.

A later record for the same (arch, label, estimator) supersedes an earlier one, so a resumed run
can retry failures by appending. A process killed mid-write leaves at most one partial last line;
it is cut off when the journal is reopened.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import SuiteError
from suite.protocol import canonical_json
from suite.provenance import git_commit, utc_now
from suite.results import decode_scores, encode_scores
from suite.runner.journal_records import record_problem

JOURNAL_VERSION = 1


class JournalError(SuiteError):
    """A journal cannot be used (corrupt, from another run, incomplete at merge)."""


def identity_key(identity: dict[str, Any]) -> str:
    """sha256 hex of the identity's canonical JSON: equal keys = interchangeable journals."""
    return hashlib.sha256(canonical_json(identity)).hexdigest()


def plan_hash(arch_ids: Iterable[Any]) -> str:
    """sha256 hex of the planned architecture ids, in run order."""
    return hashlib.sha256(canonical_json([str(i) for i in arch_ids])).hexdigest()


@dataclass
class ArchRecord:
    """One architecture's outcome for one snapshot label.

    Attributes:
        arch_id: the benchmark's id.
        label: the snapshot label.
        scores: estimator name -> float64 array: shape [] (a score), [b] (per-batch values) or
            [m] (components).
        failed: estimator name -> one-line reason.
        retried: estimator name -> how a failure was recovered (the scores are kept).
    """

    arch_id: Any
    label: str
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    retried: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"arch": self.arch_id, "label": self.label,
                               "scores": {k: _encode(v) for k, v in self.scores.items()}}
        if self.failed:
            out["failed"] = dict(self.failed)
        if self.retried:
            out["retried"] = dict(self.retried)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ArchRecord:
        return cls(arch_id=raw["arch"], label=raw["label"],
                   scores={k: _decode(v) for k, v in raw.get("scores", {}).items()},
                   failed=dict(raw.get("failed", {})), retried=dict(raw.get("retried", {})))


def _encode(value: np.ndarray) -> Any:
    array = np.asarray(value, dtype=np.float64)
    encoded = encode_scores(array.reshape(-1))
    return encoded[0] if array.ndim == 0 else encoded


def _decode(value: Any) -> np.ndarray:
    if isinstance(value, list):
        return decode_scores(value)
    return decode_scores([value]).reshape(())


@dataclass
class JournalState:
    """What a journal holds, folded: the latest outcome per (arch, label, estimator).

    Attributes:
        header: the first line.
        outcomes: (arch_id as str, label, estimator) -> float64 array or a failure reason (str).
        retried: (arch_id as str, label, estimator) -> how a failure was recovered.
        meta: the merged ``meta`` records (later values win).
        environments: every distinct ``meta.environment`` seen (a run resumed on another machine has several).
        sessions: the ``session`` records, in order.
    """

    header: dict[str, Any]
    outcomes: dict[tuple[str, str, str], np.ndarray | str] = field(default_factory=dict)
    retried: dict[tuple[str, str, str], str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    environments: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)

    def died_on(self, arch_id: Any, label: str) -> int:
        """How many times a process started scoring this architecture alone and died before an outcome."""
        return self.attempts.get((str(arch_id), label), 0)

    def add(self, record: ArchRecord) -> None:
        self.attempts.pop((str(record.arch_id), record.label), None)
        for name, value in record.scores.items():
            key = (str(record.arch_id), record.label, name)
            self.outcomes[key] = value
            if name in record.retried:
                self.retried[key] = record.retried[name]
            else:
                self.retried.pop(key, None)
        for name, reason in record.failed.items():
            key = (str(record.arch_id), record.label, name)
            if isinstance(self.outcomes.get(key), np.ndarray):
                continue  # a score, once journaled, is never replaced by a later failure
            self.outcomes[key] = reason
            self.retried.pop(key, None)

    def add_meta(self, meta: dict[str, Any]) -> None:
        """Fold a ``meta`` record in.

        Raises:
            JournalError: the data an estimator read differs from what an earlier session read.
        """
        for key, value in meta.get("data", {}).items():
            known = self.meta.get("data", {}).get(key)
            if known is not None and known != value:
                raise JournalError(f"{key} differs from what this run already read or trained, in an earlier "
                                   f"session or on another Ray worker ({value[:12]} vs {known[:12]}); use that data "
                                   "and a --cache-dir every worker shares, or pass --restart")
        if "data" in meta:
            meta = {**meta, "data": {**self.meta.get("data", {}), **meta["data"]}}
        self.meta.update(meta)
        if meta.get("environment") and meta["environment"] not in self.environments:
            self.environments.append(meta["environment"])

    def scored(self, arch_id: Any, label: str, estimator: str) -> bool:
        """Whether the estimator has a score (not a failure) for the architecture and label."""
        return isinstance(self.outcomes.get((str(arch_id), label, estimator)), np.ndarray)

    def n_scored(self) -> int:
        """(arch, label, estimator) outcomes that are scores."""
        return sum(isinstance(v, np.ndarray) for v in self.outcomes.values())

    def n_archs_scored(self) -> int:
        """Architectures with at least one score."""
        return len({key[0] for key, value in self.outcomes.items() if isinstance(value, np.ndarray)})


class Journal:
    """An open journal: read what it holds, append records durably.

    Use as a context manager; :meth:`open` creates the file or resumes an existing one.
    """

    def __init__(self, path: Path | None, state: JournalState, handle) -> None:
        self.path = path
        self.state = state
        self._handle = handle

    @classmethod
    def in_memory(cls, header: dict[str, Any]) -> Journal:
        """A journal that writes nothing (library calls that need no resume)."""
        return cls(None, JournalState(header=header), None)

    @classmethod
    def open(cls, path: str | Path, header: dict[str, Any], *, restart: bool = False) -> Journal:
        """Create ``path`` with ``header`` or, when it exists, check it belongs to the same run and resume.

        The file is locked (``flock``) while open, so two processes never write one journal.
        ``restart`` discards what the file holds, but only once the lock is held: a restart never
        wipes the journal of a run another process is still writing.

        Raises:
            JournalError: the journal is in use by another process, was written by a different
                run (names the field), or a line other than the last is corrupt.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+b")  # O_APPEND: creates, never truncates, every write goes to the end
        except OSError as exc:
            raise JournalError(f"cannot open the journal {path} ({exc.strerror or type(exc).__name__}); "
                               "pass --journal-dir with a writable directory") from None
        try:
            _lock(handle, path)
            handle.seek(0)
            data = b"" if restart else handle.read()
            if b"\n" in data:
                state, valid_bytes = parse_journal(path, data)
                _check_same_run(path, state.header, header)
                handle.truncate(valid_bytes)  # a partial line left by a killed process
            else:  # new, or only a partial header from a process killed while creating it
                handle.truncate(0)
                state = JournalState(header=header)
                _write_lines(handle, [header], path)
        except BaseException:
            handle.close()
            raise
        journal = cls(path, state, handle)
        journal.append_raw({"session": {"started_at": utc_now(), "host": socket.gethostname(), "pid": os.getpid(),
                                        "suite_commit": git_commit()}})
        return journal

    def cancel_attempt(self, arch_id: Any, label: str) -> None:
        """Withdraw an attempt mark (the run was interrupted on purpose, not killed by the architecture)."""
        key = (str(arch_id), label)
        self.state.attempts[key] = max(0, self.state.attempts.get(key, 0) - 1)
        if self._handle is not None:
            _write_lines(self._handle, [{"attempt": arch_id, "label": label, "cancelled": True}], self.path)

    def append_attempt(self, arch_id: Any, label: str) -> None:
        """Mark that scoring ``arch_id`` alone starts now; an outcome record clears it. Marks left
        behind tell a resumed run which architecture killed the process (segfault, host OOM)."""
        key = (str(arch_id), label)
        self.state.attempts[key] = self.state.attempts.get(key, 0) + 1
        if self._handle is not None:
            _write_lines(self._handle, [{"attempt": arch_id, "label": label}], self.path)

    def append(self, record: ArchRecord) -> None:
        """Write one record and make it durable (flush + fsync) before returning."""
        self.state.add(record)
        if self._handle is not None:
            _write_lines(self._handle, [record.to_json()], self.path)

    def append_many(self, records: list[ArchRecord]) -> None:
        """Records that became available together (one estimator call): one write, one fsync."""
        for record in records:
            self.state.add(record)
        if self._handle is not None and records:
            _write_lines(self._handle, [r.to_json() for r in records], self.path)

    def append_meta(self, meta: dict[str, Any]) -> None:
        self.state.add_meta(meta)
        self.append_raw({"meta": meta})

    def append_raw(self, obj: dict[str, Any]) -> None:
        if "session" in obj:
            self.state.sessions.append(obj["session"])
        if self._handle is not None:
            _write_lines(self._handle, [obj], self.path)

    def close(self) -> None:
        if self._handle is not None and not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _write_lines(handle, objs: list[dict[str, Any]], path: Path | None) -> None:
    """Append JSON lines, flush and fsync: durable when this returns."""
    try:
        handle.write(b"".join(json.dumps(o, sort_keys=True, separators=(",", ":"), allow_nan=False).encode() + b"\n"
                              for o in objs))
        handle.flush()
        os.fsync(handle.fileno())
    except OSError as exc:
        raise JournalError(f"{path}: cannot write the journal ({exc.strerror}); what it holds is kept: "
                           "fix that and re-run the same command") from None


def _lock(handle, path: Path) -> None:
    try:
        import fcntl  # deferred: POSIX only, absent on Windows
    except ImportError:  # not POSIX: no lock, as before
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise JournalError(f"{path} is in use by another process running this run; wait for it or stop it") from None
    except OSError:  # file systems without locks (some NFS setups): carry on unlocked
        return


def read_journal(path: str | Path) -> JournalState:
    """Fold a journal file into a :class:`JournalState` (see :func:`parse_journal`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal ({exc.strerror})") from None
    return parse_journal(path, data)[0]


def parse_journal(path: Path, data: bytes) -> tuple[JournalState, int]:
    """A journal's content -> (its state, the length of its valid prefix in bytes).

    A partial last line (no newline: the writer was killed mid-write) is ignored; any other
    unreadable line is a :class:`JournalError` naming the file and line.
    """
    lines = data.split(b"\n")
    complete, partial = lines[:-1], lines[-1]
    valid_bytes = len(data) - len(partial)
    if not complete:
        raise JournalError(f"{path}: empty or truncated journal header; delete the file to start the run afresh")
    parsed = []
    for number, line in enumerate(complete, start=1):
        try:
            parsed.append(json.loads(line))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise JournalError(f"{path}:{number}: corrupt journal line; delete the file to start afresh, "
                               "or cut the file before this line to keep what precedes it") from None
    header = parsed[0]
    if (not isinstance(header, dict) or header.get("suite_journal") != JOURNAL_VERSION
            or not isinstance(header.get("identity"), dict) or not isinstance(header.get("plan"), dict)
            or not isinstance(header.get("identity_sha256"), str)):
        raise JournalError(f"{path}: not a suite journal (version {JOURNAL_VERSION}): its first line is not a valid header")
    state = JournalState(header=header)
    for number, obj in enumerate(parsed[1:], start=2):
        problem = record_problem(obj)
        if problem:
            raise JournalError(f"{path}:{number}: malformed journal record ({problem}); delete the file to start "
                               "afresh, or cut the file before this line to keep what precedes it")
        try:
            if "session" in obj:
                state.sessions.append(obj["session"])
            elif "meta" in obj:
                state.add_meta(obj["meta"])
            elif "attempt" in obj:
                key = (str(obj["attempt"]), obj["label"])
                state.attempts[key] = max(0, state.attempts.get(key, 0) + (-1 if obj.get("cancelled") else 1))
            else:
                state.add(ArchRecord.from_json(obj))
        except (KeyError, TypeError, AttributeError, ValueError):
            raise JournalError(f"{path}:{number}: malformed journal record; delete the file to start afresh") from None
    return state, valid_bytes


def _check_same_run(path: Path, found: dict[str, Any], wanted: dict[str, Any]) -> None:
    if found.get("identity_sha256") == wanted.get("identity_sha256"):
        return
    raise JournalError(f"{path} belongs to a different run ({_identity_change(found, wanted)}); "
                       "pass --restart to discard it, or --journal-dir to keep both")


def _identity_change(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    """The first difference between a journal's identity and this run's, in words."""
    old, new = found.get("identity", {}), wanted.get("identity", {})
    if _canonical(old) is None or identity_key(old) != found.get("identity_sha256"):
        return "the journal's identity_sha256 does not match its identity: its header was edited or damaged"
    for key in sorted(set(old) | set(new)):
        if key not in old:
            return f"the journal's identity has no {key!r}; this run's is {_short(new[key])}"
        if key not in new:
            return f"the journal's identity has {key!r} ({_short(old[key])}), which this run's has not"
        if _canonical(old[key]) != _canonical(new[key]):
            return f"{key}: journal has {_short(old[key])}, this run {_short(new[key])}"
    return "its identity differs from this run's"


def _canonical(value: Any) -> bytes | None:
    try:
        return canonical_json(value)
    except (TypeError, ValueError, RecursionError):  # NaN in a damaged header
        return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
