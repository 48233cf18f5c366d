"""What the data directory holds: ``suite data list`` and ``suite data verify``.

Every file of the manifest (:data:`~suite.data.manifest.DATA_FILES`) gets one entry, plus a table
``suite data import`` left beside a pinned one because it differed from the pin
(``*.imported.csv``). ``list`` hashes file bytes only (cheap); ``verify`` checks each installed
file the way a run does: CIFAR-10 on its decoded content (the loader, with its cache), pinned
tables on their sha256, imported tables against their provenance sidecar.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from suite.data.checksums import sha256_file
from suite.data.cifar10 import load_cifar10_train
from suite.data_tools.importers.dispatch import IMPORTS
from suite.data.manifest import DATA_FILES, DataFile, unpinned_import_relpath
from suite.data_tools.hub import hub_source
from suite.errors import DataError, UsageError
from suite.protocol import PROTOCOL_VERSION

#: ``verify`` statuses. ``unpinned``: an imported table that matches its own sidecar, but whose
#: sha256 the protocol does not pin (another import may differ); it passes.
OK, MISMATCH, MISSING, UNPINNED = "ok", "mismatch", "missing", "unpinned"
FAILING = frozenset({MISMATCH})


@dataclass(frozen=True)
class Entry:
    """One row of ``suite data list``.

    Attributes:
        name: the manifest name (``nb201``), or ``<name>.imported`` for a refused import's output.
        kind: ``dataset``, ``ground truth`` or ``partial ground truth``.
        relpath: path inside the data directory.
        installed: whether the file is there.
        version: the protocol version and hub revision it is pinned to, or for an imported table the
            release its sidecar records.
        size: bytes: the file's actual size when installed, else the pinned size (None if unknown).
        sha256_pinned: the sha256 of the file's bytes that the manifest pins, or None.
        content_sha256_pinned: CIFAR-10 only: the pinned sha256 of the decoded images and labels.
        sha256: the installed file's actual sha256, or None when not installed.
        source: where it comes from (``hub REPO@REV``, or ``suite data import`` and the sources its
            sidecar records).
    """

    name: str
    kind: str
    relpath: str
    installed: bool
    version: str
    size: int | None
    sha256_pinned: str | None
    content_sha256_pinned: str | None
    sha256: str | None
    source: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One row of ``suite data verify``: ``status`` is ok / mismatch / missing / unpinned, ``detail`` one line."""

    name: str
    relpath: str
    status: str
    detail: str
    expected: str | None
    actual: str | None

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "failed": self.failed}


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The provenance record ``<table>.json`` next to ``path`` (a dict with a str ``table_sha256``), or None
    when it is missing, unreadable or not such a record."""
    try:
        record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("table_sha256"), str):
        return None
    return record


def _imported_source(record: dict[str, Any] | None, name: str) -> str:
    sources = record.get("sources") if record else None
    if isinstance(sources, dict) and sources:
        return f"suite data import {name} (from {', '.join(map(str, sources))})"
    return f"suite data import {name}"


def _hub(datafile: DataFile) -> tuple[str, str]:
    """(source, version) of a hub file; environment overrides apply, as for a pull."""
    try:
        repo, rev = hub_source(datafile)
    except UsageError as exc:  # a malformed SUITE_HUB_REPO: say so in the row, list the rest
        return f"(invalid: {exc})", "?"
    return f"hub {repo}@{rev or 'main'}", rev or "main"


def entries(data_dir: Path) -> list[Entry]:
    """One :class:`Entry` per manifest file (and per refused import found), in manifest order."""
    data_dir = Path(data_dir)
    out = []
    for datafile in DATA_FILES.values():
        path = data_dir / datafile.relpath
        installed = path.is_file()
        digest = sha256_file(path) if installed else None
        size = path.stat().st_size if installed else datafile.size
        if datafile.imported:
            record = read_sidecar(path) if installed else None
            release = record.get("release") if record else None
            version = str(release) if release else ("imported (no sidecar)" if installed and record is None
                                                    else "imported" if installed else "-")
            hub_text, _ = _hub(datafile)
            source = _imported_source(record, datafile.name) if installed else \
                f"suite data import {datafile.name}, or {hub_text}"
        else:
            source, rev = _hub(datafile)
            if datafile.name in IMPORTS:
                source += f", or suite data import {datafile.name}"
            version = f"protocol {PROTOCOL_VERSION}" + (f", hub {rev}" if datafile.hub_repo is None else "")
        out.append(Entry(datafile.name, datafile.kind, datafile.relpath, installed, version, size,
                         datafile.sha256, datafile.content_sha256, digest, source))
        if datafile.sha256 is not None:
            refused = data_dir / unpinned_import_relpath(datafile)
            if refused.is_file():
                record = read_sidecar(refused)
                release = record.get("release") if record else None
                out.append(Entry(f"{datafile.name}.imported", datafile.kind, unpinned_import_relpath(datafile), True,
                                 f"{release or 'imported'} (differs from the pin; not used by runs)",
                                 refused.stat().st_size, None, None, sha256_file(refused),
                                 _imported_source(record, datafile.name)))
    return out


def verify(data_dir: Path, cache_dir: Path | None = None) -> list[Check]:
    """Re-check every installed file as a run would; one :class:`Check` per entry of :func:`entries`.

    Args:
        data_dir: the data directory.
        cache_dir: the suite's cache (CIFAR-10's decoded arrays; None decodes without caching).
    """
    data_dir = Path(data_dir)
    checks = []
    for datafile in DATA_FILES.values():
        path = data_dir / datafile.relpath
        if not path.is_file():
            checks.append(Check(datafile.name, datafile.relpath, MISSING, datafile.how_to_get,
                                datafile.sha256 or datafile.content_sha256, None))
        elif datafile.content_sha256 is not None:
            try:
                actual = load_cifar10_train(data_dir, cache_dir).content_sha256
                checks.append(Check(datafile.name, datafile.relpath, OK, "decoded images and labels match the pin",
                                    datafile.content_sha256, actual))
            except DataError as exc:
                checks.append(Check(datafile.name, datafile.relpath, MISMATCH, str(exc), datafile.content_sha256, None))
        elif datafile.sha256 is not None:
            checks.append(_check_pinned(datafile, path))
        else:
            checks.append(_check_imported(datafile.name, datafile.relpath, path, datafile.how_to_get))
        if datafile.sha256 is not None and (data_dir / unpinned_import_relpath(datafile)).is_file():
            relpath = unpinned_import_relpath(datafile)
            check = _check_imported(f"{datafile.name}.imported", relpath, data_dir / relpath, datafile.how_to_get)
            if check.status == UNPINNED:
                check = Check(check.name, relpath, UNPINNED, f"matches its sidecar; differs from the protocol's pinned "
                              f"{datafile.relpath}, so runs never read it", check.expected, check.actual)
            checks.append(check)
    return checks


def _check_pinned(datafile: DataFile, path: Path) -> Check:
    actual = sha256_file(path)
    if actual == datafile.sha256:
        return Check(datafile.name, datafile.relpath, OK, "sha256 matches the pin", datafile.sha256, actual)
    return Check(datafile.name, datafile.relpath, MISMATCH,
                 f"sha256 {actual[:12]}... differs from the pin {datafile.sha256[:12]}...: {datafile.how_to_get}",
                 datafile.sha256, actual)


def _check_imported(name: str, relpath: str, path: Path, how_to_get: str) -> Check:
    actual = sha256_file(path)
    record = read_sidecar(path)
    if record is None:
        return Check(name, relpath, MISMATCH, f"no readable provenance sidecar {path.with_suffix('.json').name}: "
                     f"{how_to_get}", None, actual)
    expected = record["table_sha256"]
    if expected != actual:
        return Check(name, relpath, MISMATCH, f"sha256 {actual[:12]}... differs from the {expected[:12]}... its "
                     f"{path.with_suffix('.json').name} records (changed after its import): {how_to_get}",
                     expected, actual)
    return Check(name, relpath, UNPINNED, "matches its provenance sidecar; the protocol pins no sha256 for it",
                 expected, actual)
