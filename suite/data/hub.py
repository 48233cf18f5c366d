"""Downloading data files from the Hugging Face hub into the data directory.

CIFAR-10 comes from the public dataset repository ``uoft-cs/cifar10``; the suite's own tables
come from its dataset repository (``SUITE_HUB_REPO``, revision ``SUITE_HUB_REVISION``).
Every download is verified against the manifest before it is installed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from suite.data.checksums import sha256_file
from suite.data.manifest import (
    DATA_FILES,
    DEFAULT_HUB_REPO,
    DEFAULT_HUB_REVISION,
    DataFile,
)
from suite.errors import DataError, UsageError


def hub_source(datafile: DataFile, repo_id: str | None = None, revision: str | None = None) -> tuple[str, str | None]:
    """The (repository, revision) a file is pulled from; flags beat environment beat defaults."""
    if datafile.hub_repo is not None:  # a public third-party repository, e.g. uoft-cs/cifar10
        return repo_id or datafile.hub_repo, revision
    return (
        repo_id or os.environ.get("SUITE_HUB_REPO") or DEFAULT_HUB_REPO,
        revision or os.environ.get("SUITE_HUB_REVISION") or DEFAULT_HUB_REVISION,
    )


def pull(
    name: str,
    data_dir: Path,
    repo_id: str | None = None,
    revision: str | None = None,
    offline: bool = False,
    hub_cache_dir: Path | None = None,
) -> Path:
    """Download one known data file, verify it, and install it into ``data_dir``.

    Args:
        name: a manifest name (``cifar10``, ``nb201``).
        data_dir: destination data directory.
        repo_id, revision: override the source repository / revision.
        offline: use only the local hub cache (``local_files_only``), never the network.
        hub_cache_dir: the huggingface_hub cache to use (default: huggingface_hub's own).
    Returns:
        The installed path.
    Raises:
        UsageError: unknown name. DataError: download failed, or the file fails its checksum.
    """
    if name not in DATA_FILES:
        raise UsageError(f"unknown data file {name!r}; known: {', '.join(sorted(DATA_FILES))}")
    datafile = DATA_FILES[name]
    repo, rev = hub_source(datafile, repo_id, revision)
    downloaded = _download(datafile.relpath, repo, rev, offline, hub_cache_dir)
    sidecar = None
    if datafile.sha256 is not None:
        digest = sha256_file(downloaded)
        if digest != datafile.sha256:
            raise DataError(
                f"{datafile.relpath} from {repo}@{rev or 'main'} has sha256 {digest[:12]}..., expected "
                f"{datafile.sha256[:12]}...; not installed"
            )
    elif datafile.content_sha256 is None:
        # an imported table (sha256 not pinned yet): it comes with its provenance sidecar, which must match
        relpath = str(Path(datafile.relpath).with_suffix(".json"))
        sidecar = _download(relpath, repo, rev, offline, hub_cache_dir)
        try:
            recorded = json.loads(Path(sidecar).read_text())["table_sha256"]
        except (ValueError, KeyError, TypeError):
            raise DataError(f"{relpath} from {repo}@{rev or 'main'} is not a provenance file; not installed") from None
        if sha256_file(downloaded) != recorded:
            raise DataError(f"{datafile.relpath} from {repo}@{rev or 'main'} does not match the sha256 its "
                            f"{Path(relpath).name} records; not installed")
    target = Path(data_dir) / datafile.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    for source, dest in ((sidecar, target.with_suffix(".json")), (downloaded, target)):
        if source is not None:
            tmp = dest.with_name(dest.name + f".part{os.getpid()}")
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
    return target


def _download(relpath: str, repo: str, rev: str | None, offline: bool, hub_cache_dir: Path | None) -> str:
    """One file of a hub dataset repository, through huggingface_hub's cache; DataError in one line."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return hf_hub_download(repo_id=repo, filename=relpath, repo_type="dataset", revision=rev,
                               cache_dir=hub_cache_dir, local_files_only=offline)
    except LocalEntryNotFoundError as exc:
        raise DataError(
            f"cannot download {relpath} from hub dataset {repo}@{rev or 'main'}: offline and not "
            "in the local hub cache (connect to the internet, or unset HF_HUB_OFFLINE)"
        ) from exc
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
        raise DataError(f"hub dataset {repo}@{rev or 'main'} has no {relpath}: {type(exc).__name__}") from exc
    except OSError as exc:  # network failures surface as requests/httpx errors, all OSError subclasses
        raise DataError(f"download of {relpath} from {repo} failed: {exc}") from exc
