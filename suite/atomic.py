"""Files that appear whole or not at all: written beside their name, fsync'd, then renamed or linked.

A temporary file is named ``.<name>.tmp-<host>-<pid>``: a process killed between writing it and
renaming it leaves one behind, and the next writer in that directory on this host removes those
of processes that no longer run. With ``overwrite=False`` the finished temporary file is linked to
its name, which fails when the name exists: whether something is replaced is decided at the write
itself, never by a check made earlier (another process may write the name in between).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path

from suite.errors import SuiteError

TEMP_MARK = ".tmp-"
#: link(2) is refused on file systems without hard links; the name is then claimed with O_EXCL.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}


class WriteError(SuiteError):
    """A file could not be written (full disk, no permission, a file where a directory should be);
    nothing half-written is left under its name."""


class TargetExistsError(WriteError):
    """The name was taken (by another process, or earlier) and ``overwrite`` was not asked for."""


def write_atomically(path: str | Path, data: bytes | str, *, overwrite: bool = False, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` whole or not at all (temporary file, fsync, rename or link, fsync of the directory).

    Args:
        overwrite: replace what ``path`` holds; otherwise :class:`TargetExistsError` if it exists
            (checked by the write itself).
        mode: permissions from the first byte (``0o600`` for a private key).

    Raises:
        TargetExistsError: ``path`` exists and ``overwrite`` is False.
        WriteError: the directory or the file cannot be written (one line naming it and why).
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    make_dirs(path.parent)
    clean_stale_temps(path.parent)
    tmp = temp_path(path)
    try:
        tmp.unlink(missing_ok=True)  # our own, from an earlier failure of this process
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            _write_all(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        _publish(tmp, path, overwrite)
    except FileExistsError:
        _discard(tmp)
        raise TargetExistsError(f"{path} exists") from None
    except OSError as exc:
        _discard(tmp)
        raise WriteError(f"cannot write {path} ({_reason(exc)}); nothing was written under its name") from None
    _fsync_dir(path.parent)
    return path


def make_dirs(directory: Path) -> None:
    """``mkdir -p``; WriteError naming the directory (a file in the way, no permission, no such file system)."""
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create the directory {directory} ({_reason(exc)}); choose a writable place") from None


def check_writable_dir(directory: Path) -> None:
    """Whether files can be made in ``directory``, asked before long work; leaves no trace (the
    directories it had to create to find out are removed again).

    Raises:
        WriteError: a file in the way, no permission, no such file system (one line naming it).
    """
    directory = Path(directory)
    missing = []
    probe = directory
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    make_dirs(directory)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write in {directory} (Permission denied); choose a writable place")
    for created in missing:  # deepest first
        try:
            created.rmdir()
        except OSError:
            break


def temp_path(path: Path, suffix: str = "") -> Path:
    """The temporary name of ``path`` for this process: ``.<name>.tmp-<host>-<pid><suffix>``."""
    return path.with_name(f".{path.name}{TEMP_MARK}{_host()}-{os.getpid()}{suffix}")


def clean_stale_temps(directory: Path) -> list[Path]:
    """Remove the temporary files (and directories) in ``directory`` left by processes of this host
    that no longer run; returns what was removed. Those of other hosts (a shared file system) are kept."""
    mark = f"{TEMP_MARK}{_host()}-"
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or mark not in entry.name:
            continue
        pid = entry.name.rpartition(mark)[2].split(".")[0].split("-")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Give the finished temporary file its name (the kill point the tests aim at)."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails with EEXIST if the name exists, whoever wrote it
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # claim the name, then fill it
        os.replace(tmp, path)
        return
    _discard(tmp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def _fsync_dir(directory: Path) -> None:
    """Make the new name durable (a crash right after the rename must not lose it); best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _host() -> str:
    return socket.gethostname().replace(os.sep, "_") or "localhost"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
