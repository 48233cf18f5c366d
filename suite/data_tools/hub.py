"""The Hugging Face hub: ``suite data pull`` (download, verify, install) and ``suite data push``.

CIFAR-10 comes from the public dataset repository ``uoft-cs/cifar10`` (its ``plain_text/`` parquet);
the suite's own files come from its dataset repository: ``--repo`` / ``SUITE_HUB_REPO`` (default
:data:`~suite.data.manifest.DEFAULT_HUB_REPO`) at ``--revision`` / ``SUITE_HUB_REVISION`` (default the
pinned tag :data:`~suite.data.manifest.DEFAULT_HUB_REVISION`). Flags beat environment beat defaults.

A pull is checked before it is installed: the downloaded bytes are copied next to the target as a
``.part`` file, the copy is verified (sha256 pin, CIFAR-10's decoded content, or an imported table's
provenance sidecar), and only then renamed over the target (``os.replace``, atomic on one file
system). An interrupted or refused pull leaves the data directory as it was; an interrupted
download keeps its bytes in the suite's cache (``downloads/``), and the next pull resumes it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from suite.data.checksums import sha256_file
from suite.data.cifar10 import load_cifar10_train
from suite.data.manifest import (
    DATA_FILES,
    DEFAULT_HUB_REPO,
    DEFAULT_HUB_REVISION,
    DataFile,
)
from suite import paths
from suite.errors import DataError, UsageError

HUB_REPO_ENV = "SUITE_HUB_REPO"
HUB_REVISION_ENV = "SUITE_HUB_REVISION"
#: huggingface_hub's own switch; the suite honours it whether it was set before or after import.
HF_OFFLINE_ENV = "HF_HUB_OFFLINE"

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


def parse_repo_id(text: str, option: str = "--repo") -> str:
    """A hub repository id ``owner/name`` (letters, digits, ``._-``); UsageError naming ``option`` otherwise."""
    if not isinstance(text, str) or not _REPO_ID.match(text) or ".." in text or text.endswith((".", "-")):
        raise UsageError(f"{option} {text!r} is not a hub repository id; give OWNER/NAME, e.g. {DEFAULT_HUB_REPO}")
    return text


def parse_revision(text: str, option: str = "--revision") -> str:
    """A tag, branch or commit name (no spaces, no ``..``); UsageError naming ``option`` otherwise."""
    if not isinstance(text, str) or not _REVISION.match(text) or ".." in text or text.endswith(("/", ".lock")):
        raise UsageError(f"{option} {text!r} is not a revision; give a tag such as {DEFAULT_HUB_REVISION}, a branch "
                         "or a commit sha")
    return text


def hub_source(datafile: DataFile, repo_id: str | None = None, revision: str | None = None) -> tuple[str, str | None]:
    """The (repository, revision) a file is pulled from; flags beat environment beat defaults.

    The suite's own files default to the pinned tag; a third-party repository (``uoft-cs/cifar10``)
    follows its default branch unless ``revision`` says otherwise, its content being pinned instead.
    """
    if datafile.hub_repo is not None:
        repo, rev = repo_id or datafile.hub_repo, revision
    else:
        repo = repo_id or os.environ.get(HUB_REPO_ENV) or DEFAULT_HUB_REPO
        rev = revision or os.environ.get(HUB_REVISION_ENV) or DEFAULT_HUB_REVISION
    option = "--repo" if repo_id else HUB_REPO_ENV
    parse_repo_id(repo, option)
    if rev is not None:
        parse_revision(rev, "--revision" if revision else HUB_REVISION_ENV)
    return repo, rev


def offline_requested(flag: bool = False) -> bool:
    """True when ``--offline`` was given or ``HF_HUB_OFFLINE`` is set to a true value (1, true, yes, on)."""
    return bool(flag) or os.environ.get(HF_OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def pull(
    name: str,
    data_dir: Path,
    repo_id: str | None = None,
    revision: str | None = None,
    offline: bool = False,
    hub_cache_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """Download one known data file, verify it, and install it into ``data_dir``.

    Args:
        name: a manifest name (``cifar10``, ``nb201``, an imported table, a partial set).
        data_dir: destination data directory.
        repo_id, revision: override the source repository / revision.
        offline: use only the local hub cache, never the network (also ``HF_HUB_OFFLINE=1``).
        hub_cache_dir: the huggingface_hub cache to use (default: huggingface_hub's own).
        cache_dir: the suite's cache (default: :func:`suite.paths.cache_dir`): ``downloads/`` keeps an
            interrupted download for the next pull to resume; CIFAR-10's check keeps its decoded arrays.
    Returns:
        The installed path.
    Raises:
        UsageError: unknown name or malformed repository / revision.
        DataError: download failed, or the file fails its check (nothing is installed then).
    """
    if name not in DATA_FILES:
        raise UsageError(f"unknown data file {name!r}; known: {', '.join(sorted(DATA_FILES))}")
    datafile = DATA_FILES[name]
    repo, rev = hub_source(datafile, repo_id, revision)
    offline = offline_requested(offline)
    where = f"{repo}@{rev or 'main'}"
    download_dir = paths.cache_dir(cache_dir) / "downloads"
    downloaded = _download(datafile.path_in_repo, repo, rev, offline, hub_cache_dir, download_dir)
    own = [downloaded] if downloaded.is_relative_to(download_dir) else []  # not huggingface_hub's cache
    sidecar_download = None
    if datafile.imported:
        # an imported table (sha256 not pinned): it comes with its provenance sidecar, which must match
        sidecar_download = _download(str(Path(datafile.path_in_repo).with_suffix(".json")), repo, rev,
                                     offline, hub_cache_dir, download_dir)
        own += [sidecar_download] if sidecar_download.is_relative_to(download_dir) else []
    target = Path(data_dir) / datafile.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = [*own]  # complete downloads of ours are deleted whatever happens: verified or refused
    try:
        table_part = _stage(downloaded, target, staged)
        sidecar_part = _stage(sidecar_download, target.with_suffix(".json"), staged) if sidecar_download else None
        if datafile.sha256 is not None:
            digest = sha256_file(table_part)
            if digest != datafile.sha256:
                raise DataError(f"{datafile.path_in_repo} from {where} has sha256 {digest[:12]}..., the suite pins "
                                f"{datafile.sha256[:12]}...; not installed (check --revision, or report the repository)")
        elif datafile.content_sha256 is not None:
            _check_content(table_part, datafile, where, cache_dir)
        else:
            try:
                recorded = json.loads(sidecar_part.read_text())["table_sha256"]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise DataError(f"{sidecar_part.name[:-len('.part')]} from {where} is not a provenance file of "
                                "`suite data import`; not installed") from None
            if sha256_file(table_part) != recorded:
                raise DataError(f"{datafile.path_in_repo} from {where} does not match the sha256 its "
                                f"{target.with_suffix('.json').name} records; not installed")
            os.replace(sidecar_part, target.with_suffix(".json"))
        os.replace(table_part, target)
    finally:
        for part in staged:  # no-op after a successful install: the parts were renamed
            part.unlink(missing_ok=True)
    return target


def _stage(source: Path, dest: Path, staged: list[Path]) -> Path:
    """Copy ``source`` to ``<dest>.part`` (registered in ``staged`` first, so a failed copy is cleaned up)."""
    part = dest.with_name(dest.name + ".part")
    staged.append(part)
    shutil.copyfile(source, part)
    return part


def _check_content(part: Path, datafile: DataFile, where: str, cache_dir: Path | None) -> None:
    """CIFAR-10: decode the staged parquet as the loader does and compare its content with the pin."""
    with tempfile.TemporaryDirectory(prefix="suite-pull-") as tmp:
        # the loader reads <data_dir>/cifar10/plain_text/train-*.parquet: give it that layout over the .part
        view = Path(tmp) / datafile.relpath
        view.parent.mkdir(parents=True)
        try:
            os.symlink(part.resolve(), view)
        except OSError:  # no symlinks here (some Windows setups): a copy costs disk, not correctness
            shutil.copyfile(part, view)
        try:
            load_cifar10_train(Path(tmp), cache_dir)
        except DataError:
            raise DataError(f"{datafile.path_in_repo} from {where} does not decode to the pinned CIFAR-10 training "
                            f"images (content sha256 {datafile.content_sha256[:12]}...); not installed") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _hub_url(repo: str, path_in_repo: str, rev: str | None) -> str:
    """The resolve URL of one file of a hub dataset repository (honours ``HF_ENDPOINT``)."""
    from huggingface_hub import hf_hub_url  # deferred: huggingface_hub (heavy), only for a pull

    return hf_hub_url(repo, path_in_repo, repo_type="dataset", revision=rev)


def _http_get(url: str, handle, resume_size: int, displayed_filename: str) -> None:
    """Stream ``url`` into ``handle`` from byte ``resume_size`` (huggingface_hub's ``http_get``: an HTTP
    ``Range`` request, retries after a dropped connection, a tqdm progress bar, the hub's errors)."""
    from huggingface_hub.file_download import http_get  # deferred: huggingface_hub, only for a pull
    from huggingface_hub.utils import build_hf_headers

    # its retry warnings are multi-line tracebacks-in-words; the pull reports the outcome in one line
    hub_log = logging.getLogger("huggingface_hub.file_download")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)
    try:
        http_get(url, handle, resume_size=resume_size, headers=build_hf_headers(), displayed_filename=displayed_filename)
    finally:
        hub_log.setLevel(level)


def partial_download_path(download_dir: Path, repo: str, rev: str | None, path_in_repo: str) -> Path:
    """Where a pull keeps the bytes it has so far (``<download_dir>/<owner>--<name>/<rev>/<path>.incomplete``)."""
    return Path(download_dir) / repo.replace("/", "--") / (rev or "main") / (path_in_repo + ".incomplete")


def _download(path_in_repo: str, repo: str, rev: str | None, offline: bool, hub_cache_dir: Path | None,
              download_dir: Path) -> Path:
    """One file of a hub dataset repository; DataError in one line.

    A file complete in huggingface_hub's cache is used as it is (offline, only that). Otherwise it is
    downloaded into ``download_dir`` as ``<path>.incomplete``, which outlives the process: a pull
    that dies (network gone, Ctrl-C, killed) leaves the bytes it had, and the next pull asks the
    server for the rest (HTTP ``Range``). huggingface_hub's own ``hf_hub_download`` cannot do this:
    since huggingface_hub PR #4228 (2.x, checked in 2.4.0's source) it streams into a process-unique
    temporary file and deletes it on failure. Once complete the file is renamed without the suffix;
    the caller verifies it against the manifest and deletes it (a corrupt download is never kept).
    """
    import huggingface_hub  # deferred: huggingface_hub, only for a pull
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    network_errors: tuple[type[BaseException], ...] = (OSError,)
    for module in ("httpx2", "httpx"):  # the transport's errors are not OSErrors
        try:
            network_errors += (__import__(module).HTTPError,)
        except (ImportError, AttributeError):
            pass
    where = f"hub dataset {repo}@{rev or 'main'}"
    try:
        return Path(huggingface_hub.hf_hub_download(repo_id=repo, filename=path_in_repo, repo_type="dataset",
                                                    revision=rev, cache_dir=hub_cache_dir, local_files_only=True))
    except LocalEntryNotFoundError as exc:
        if offline:
            raise DataError(f"cannot pull {path_in_repo} from {where}: offline and not in the local hub cache "
                            f"(--offline or {HF_OFFLINE_ENV}=1); connect and pull without --offline, with "
                            f"{HF_OFFLINE_ENV} unset") from exc
    part = partial_download_path(download_dir, repo, rev, path_in_repo)
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(part, "ab") as handle:
            _http_get(_hub_url(repo, path_in_repo, rev), handle, handle.tell(), Path(path_in_repo).name)
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
        part.unlink(missing_ok=True)
        kind = ("no such revision" if isinstance(exc, RevisionNotFoundError)
                else "no such repository (or it is private)" if isinstance(exc, RepositoryNotFoundError)
                else "no such file")
        raise DataError(f"{where}: {kind} ({path_in_repo}); check --repo / --revision ({HUB_REPO_ENV} / "
                        f"{HUB_REVISION_ENV})") from exc
    except network_errors as exc:
        have = part.stat().st_size if part.exists() else 0
        raise DataError(f"download of {path_in_repo} from {where} failed after {have:,} bytes ({_first_line(exc)}); "
                        "pull again to resume from there") from exc
    done = part.with_name(part.name[: -len(".incomplete")])
    os.replace(part, done)
    return done


# --- push (maintainers) -------------------------------------------------------------------------


@dataclass(frozen=True)
class PushFile:
    """One file a push uploads.

    Attributes:
        name: the manifest name it belongs to (``nb201``; an imported table's sidecar shares its name).
        path_in_repo: where it goes in the hub repository (= its path in the data directory).
        local: the file in the data directory.
        sha256: its sha256 (checked against the manifest or its sidecar before the upload).
        size: its size in bytes.
    """

    name: str
    path_in_repo: str
    local: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class PushPlan:
    """What ``suite data push`` uploads: ``files`` into dataset ``repo``, then tag ``revision``."""

    repo: str
    revision: str
    files: tuple[PushFile, ...]


def plan_push(data_dir: Path, repo: str, revision: str | None = None) -> PushPlan:
    """Check every suite file of a prepared data directory against the manifest; the upload plan.

    Pinned files must match their sha256; imported tables their provenance sidecar (both files are
    uploaded). CIFAR-10 is not uploaded: pulls take it from ``uoft-cs/cifar10``.

    Raises:
        UsageError: malformed repository id or revision, or ``data_dir`` is not a directory.
        DataError: a file that fails its check (one line: the file, the two digests, the fix), or
            a directory holding none of the suite's files.
    """
    repo = parse_repo_id(repo)
    revision = parse_revision(revision or DEFAULT_HUB_REVISION)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UsageError(f"{data_dir} is not a directory; give the prepared data directory to push")
    files: list[PushFile] = []
    for datafile in DATA_FILES.values():
        if datafile.hub_repo is not None:
            continue
        path = data_dir / datafile.relpath
        if not path.is_file():
            continue
        digest = sha256_file(path)
        if datafile.sha256 is not None and digest != datafile.sha256:
            raise DataError(f"{path}: sha256 {digest[:12]}... differs from the manifest's pin {datafile.sha256[:12]}..."
                            f"; refusing to push (re-pull or rebuild {datafile.name}, or remove it from {data_dir})")
        if datafile.imported:
            sidecar = path.with_suffix(".json")
            try:
                recorded = json.loads(sidecar.read_text())["table_sha256"]
            except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise DataError(f"{sidecar}: missing or not a provenance file; refusing to push {datafile.name} "
                                f"(rebuild it with `suite data import {datafile.name}`)") from None
            if recorded != digest:
                raise DataError(f"{path}: sha256 {digest[:12]}... differs from the {str(recorded)[:12]}... its "
                                f"{sidecar.name} records; refusing to push (rebuild it with `suite data import "
                                f"{datafile.name}`)")
            files.append(PushFile(datafile.name, str(Path(datafile.relpath).with_suffix(".json")), sidecar,
                                  sha256_file(sidecar), sidecar.stat().st_size))
        files.append(PushFile(datafile.name, datafile.relpath, path, digest, path.stat().st_size))
    if not files:
        own = ", ".join(d.relpath for d in DATA_FILES.values() if d.hub_repo is None)
        raise DataError(f"{data_dir} holds none of the suite's files ({own}); nothing to push")
    return PushPlan(repo, revision, tuple(files))


def push(data_dir: Path, repo: str, revision: str | None = None, dry_run: bool = False) -> PushPlan:
    """Verify a prepared data directory, upload its suite files to a hub dataset repository, tag it.

    The token is huggingface_hub's own (``HF_TOKEN``, or a saved login); it is never printed. A tag
    that exists is refused: pulls pin revisions, so a published one must never change.

    Args:
        data_dir: the directory to publish (laid out like a data directory).
        repo: the hub dataset repository (``owner/name``; created when missing).
        revision: the tag to create (default :data:`~suite.data.manifest.DEFAULT_HUB_REVISION`).
        dry_run: only verify and return the plan; nothing leaves the machine.
    Returns:
        The plan that was (or, with ``dry_run``, would be) carried out.
    Raises:
        UsageError / DataError: see :func:`plan_push`; DataError also when there is no token, the
            tag exists, or the hub refuses (one line).
    """
    plan = plan_push(data_dir, repo, revision)
    if dry_run:
        return plan
    import huggingface_hub  # deferred: huggingface_hub, only for a push
    from huggingface_hub.errors import HfHubHTTPError

    if not huggingface_hub.get_token():
        raise DataError(f"no Hugging Face token: set HF_TOKEN to a token with write access to {plan.repo} "
                        "(or run `hf auth login`), then push again")
    api = huggingface_hub.HfApi()
    try:
        api.create_repo(plan.repo, repo_type="dataset", exist_ok=True)
        refs = api.list_repo_refs(plan.repo, repo_type="dataset")
        if any(tag.name == plan.revision for tag in refs.tags):
            raise DataError(f"{plan.repo} already has the tag {plan.revision}: published revisions never change "
                            "(pulls pin them); push under a new --revision")
        operations = [huggingface_hub.CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=str(f.local))
                      for f in plan.files]
        listing = ", ".join(f"{f.path_in_repo} ({f.sha256[:12]})" for f in plan.files)
        info = api.create_commit(plan.repo, operations, repo_type="dataset",
                                 commit_message=f"suite data push {plan.revision}",
                                 commit_description=f"Verified against the suite's manifest: {listing}")
        api.create_tag(plan.repo, tag=plan.revision, revision=info.oid, repo_type="dataset",
                       tag_message=f"suite data {plan.revision}")
    except HfHubHTTPError as exc:
        raise DataError(f"the hub refused the push to {plan.repo} ({_first_line(exc)}); check that HF_TOKEN may "
                        "write there") from None
    return plan
