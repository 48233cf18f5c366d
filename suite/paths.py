"""Where the suite reads its data and keeps its caches.

Resolution order for the data directory: the ``--data-dir`` flag, then the ``SUITE_DATA_DIR``
environment variable, then ``<cache>/data``. The cache directory (decoded datasets) is
``SUITE_CACHE_DIR`` or ``$XDG_CACHE_HOME/nas-suite`` (``~/.cache/nas-suite``). The data directory may be
read-only; the suite never writes into it except through ``suite data pull`` and ``suite data import``.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "SUITE_DATA_DIR"
CACHE_DIR_ENV = "SUITE_CACHE_DIR"


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The writable cache directory (created on first use by the code that writes there)."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "nas-suite"


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: flag, then ``SUITE_DATA_DIR``, then ``<cache>/data``."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return cache_dir() / "data"
