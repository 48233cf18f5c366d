"""`suite data list / verify / pull / push`: what is installed, whether it is intact, getting and
publishing it. The hub is faked: `huggingface_hub.hf_hub_download` serves files from a folder,
`huggingface_hub.HfApi` records what a push would send."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import huggingface_hub
import httpx2
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

from suite.cli import main
from suite.data_tools import hub, inventory
from suite.data_tools.importers.common import write_ground_truth
from suite.data.manifest import (
    CIFAR10_TRAIN,
    DATA_FILES,
    DEFAULT_HUB_REPO,
    DEFAULT_HUB_REVISION,
    NB101_PARTIAL,
    NB201_GROUND_TRUTH,
    NB301_PARTIAL,
    NDS_RESNEXTA_GROUND_TRUTH,
    unpinned_import_relpath,
)
from suite.errors import DataError, UsageError

PINNED = (NB201_GROUND_TRUTH, NB101_PARTIAL, NB301_PARTIAL)


def _copy(data_dir: Path, dest: Path, *files) -> Path:
    for datafile in files:
        (dest / datafile.relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / datafile.relpath, dest / datafile.relpath)
    return dest


def _imported_table(dest: Path, value: float = 91.5) -> Path:
    """A small nds-resnexta table with its provenance sidecar, as `suite data import` writes it."""
    path = dest / NDS_RESNEXTA_GROUND_TRUTH.relpath
    table = pd.DataFrame({"arch": ["d=1,1,1 w=16,16,16 b=1,1,1 g=1,1,1"], "key": ["k"], "test_acc": [value]})
    write_ground_truth(table, path, ["test_acc"], sources=[], extra={"release": "ResNeXt-A.json (test)"})
    return path


# --- list ---------------------------------------------------------------------------------------


def test_pinned_sizes_are_the_real_files(data_dir):
    for datafile in (*PINNED, CIFAR10_TRAIN):
        assert (data_dir / datafile.relpath).stat().st_size == datafile.size, datafile.name


def test_list_json_on_the_real_data(data_dir, capsys):
    assert main(["data", "list", "--json", "--data-dir", str(data_dir)]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["files"]}
    assert list(rows) == list(DATA_FILES)
    assert [rows[n]["kind"] for n in ("cifar10", "nb201", "nb101", "nb101-partial")] == [
        "dataset", "ground truth", "ground truth", "partial ground truth"]
    for datafile in PINNED:
        row = rows[datafile.name]
        assert row["installed"] and row["sha256"] == row["sha256_pinned"] == datafile.sha256
        assert row["size"] == datafile.size and row["version"] == f"protocol 1.0, hub {DEFAULT_HUB_REVISION}"
        assert row["source"].startswith(f"hub {DEFAULT_HUB_REPO}@{DEFAULT_HUB_REVISION}")
    assert rows["cifar10"]["content_sha256_pinned"] == CIFAR10_TRAIN.content_sha256
    assert rows["cifar10"]["source"] == "hub uoft-cs/cifar10@main"
    assert not rows["nb101"]["installed"] and rows["nb101"]["sha256"] is None
    assert "suite data import nb201" in rows["nb201"]["source"]


def test_list_table_of_an_empty_directory_with_an_imported_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SUITE_HUB_REPO", "me/mirror")
    monkeypatch.setenv("SUITE_HUB_REVISION", "v7")
    _imported_table(tmp_path)
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| name" in out and "hub me/mirror@v7" in out and "protocol 1.0, hub v7" in out
    rows = {e.name: e for e in inventory.entries(tmp_path)}
    assert not rows["nb201"].installed and rows["nb201"].size == NB201_GROUND_TRUTH.size
    nds = rows["nds-resnexta"]
    assert nds.installed and nds.version == "ResNeXt-A.json (test)" and nds.source == "suite data import nds-resnexta"
    assert nds.size == (tmp_path / NDS_RESNEXTA_GROUND_TRUTH.relpath).stat().st_size


# --- verify -------------------------------------------------------------------------------------


def test_verify_the_real_data_is_ok(data_dir, cifar, cache_dir):
    checks = {c.name: c for c in inventory.verify(data_dir, cache_dir)}
    assert checks["cifar10"].status == "ok" and checks["cifar10"].actual == CIFAR10_TRAIN.content_sha256
    assert all(checks[d.name].status == "ok" for d in PINNED)
    assert checks["nb101"].status == "missing" and not any(c.failed for c in checks.values())


def test_verify_reports_each_state_and_fails_on_a_mismatch(data_dir, tmp_path, capsys):
    dest = _copy(data_dir, tmp_path / "d", NB201_GROUND_TRUTH, NB101_PARTIAL, NB301_PARTIAL)
    (dest / NB301_PARTIAL.relpath).write_text((dest / NB301_PARTIAL.relpath).read_text()[:-20])
    _imported_table(dest)
    refused = dest / unpinned_import_relpath(NB201_GROUND_TRUTH)
    write_ground_truth(pd.DataFrame({"arch": ["a"], "key": ["a"], "x": [1.0]}), refused, ["x"], sources=[])
    code = main(["data", "verify", "--json", "--data-dir", str(dest)])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    status = {f["name"]: f["status"] for f in report["files"]}
    assert code == 3 and not report["ok"]
    assert status == {"cifar10": "missing", "nb201": "ok", "nb201.imported": "unpinned", "nb101": "missing",
                      "nb301": "missing", "nds-resnet": "missing", "nds-resnexta": "unpinned",
                      "nb101-partial": "ok", "nb301-partial": "mismatch"}
    err = captured.err.strip()
    assert err == ("error: 1 installed file(s) failed: nb301-partial; re-pull or re-import them "
                   "(`suite data pull NAME`)")
    # an imported table changed after its import, or without its sidecar, fails
    table = dest / NDS_RESNEXTA_GROUND_TRUTH.relpath
    table.write_text(table.read_text().replace("91.5", "99.5"))
    assert {c.name: c.status for c in inventory.verify(dest)}["nds-resnexta"] == "mismatch"
    table.with_suffix(".json").unlink()
    check = {c.name: c for c in inventory.verify(dest)}["nds-resnexta"]
    assert check.status == "mismatch" and "no readable provenance sidecar" in check.detail


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                              lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=12), kids,
                                                                                        max_size=3),
                              max_leaves=8).map(lambda v: json.dumps(v).encode())))
def test_any_broken_sidecar_is_a_mismatch_never_a_crash(tmp_path_factory, sidecar):
    dest = tmp_path_factory.mktemp("sidecar")
    table = _imported_table(dest)
    table.with_suffix(".json").write_bytes(sidecar)
    check = {c.name: c for c in inventory.verify(dest)}["nds-resnexta"]
    assert check.status == "mismatch" and "\n" not in check.detail


# --- pull ---------------------------------------------------------------------------------------


class FakeHub:
    """Serves ``root/<repo>/<revision>/<path>`` like hf_hub_download serves its cache; records the calls."""

    def __init__(self, root: Path):
        self.root, self.calls = root, []

    def put(self, repo: str, revision: str, path: str, source: Path | bytes) -> None:
        target = self.root / repo / revision / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source if isinstance(source, bytes) else Path(source).read_bytes())

    def __call__(self, repo_id, filename, repo_type=None, revision=None, cache_dir=None, local_files_only=False):
        """hf_hub_download: the suite asks it only for files already in the hub cache (none here)."""
        assert local_files_only, "downloads go through the resumable http path"
        self.calls.append({"repo_id": repo_id, "filename": filename, "repo_type": repo_type, "revision": revision,
                           "local_files_only": True})
        raise LocalEntryNotFoundError("Cannot find the requested files in the disk cache")

    @staticmethod
    def url(repo, path_in_repo, rev):
        return f"fake://{repo}|{rev}|{path_in_repo}"

    def http_get(self, url, handle, resume_size, displayed_filename):
        """Serves the bytes from ``resume_size`` on (an HTTP Range request), as the hub would."""
        repo_id, revision, filename = url[len("fake://"):].split("|")
        revision = None if revision == "None" else revision
        self.calls.append({"repo_id": repo_id, "filename": filename, "repo_type": "dataset", "revision": revision,
                           "local_files_only": False, "resume_size": resume_size})
        path = self.root / repo_id / (revision or "main") / filename
        if not (self.root / repo_id).is_dir():
            raise RepositoryNotFoundError("404 Client Error.\n\nRepository Not Found", response=_response(404))
        if not path.is_file():
            raise EntryNotFoundError(f"{filename} not found")
        handle.write(path.read_bytes()[resume_size:])


def _response(code: int) -> httpx2.Response:
    return httpx2.Response(code, request=httpx2.Request("GET", "https://huggingface.co/x"))


@pytest.fixture
def fake_hub(tmp_path, monkeypatch) -> FakeHub:
    served = FakeHub(tmp_path / "served")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", served)
    monkeypatch.setattr(hub, "_hub_url", served.url)
    monkeypatch.setattr(hub, "_http_get", served.http_get)
    monkeypatch.setenv("SUITE_CACHE_DIR", str(tmp_path / "cache"))  # interrupted downloads are kept there
    monkeypatch.delenv("SUITE_HUB_REPO", raising=False)
    monkeypatch.delenv("SUITE_HUB_REVISION", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return served


def _leftovers(dest: Path) -> list[Path]:
    return [p for p in dest.rglob("*") if p.is_file()] if dest.exists() else []


def test_pull_installs_a_good_file_from_the_pinned_revision(data_dir, fake_hub, tmp_path, capsys, monkeypatch):
    fake_hub.put(DEFAULT_HUB_REPO, DEFAULT_HUB_REVISION, NB201_GROUND_TRUTH.relpath, data_dir / NB201_GROUND_TRUTH.relpath)
    dest = tmp_path / "data"
    assert main(["data", "pull", "nb201", "--data-dir", str(dest)]) == 0
    assert capsys.readouterr().out.strip() == f"installed {dest / NB201_GROUND_TRUTH.relpath}"
    assert (dest / NB201_GROUND_TRUTH.relpath).read_bytes() == (data_dir / NB201_GROUND_TRUTH.relpath).read_bytes()
    assert _leftovers(dest) == [dest / NB201_GROUND_TRUTH.relpath]  # no .part
    assert fake_hub.calls[-1] == {"repo_id": DEFAULT_HUB_REPO, "filename": NB201_GROUND_TRUTH.relpath,
                                  "repo_type": "dataset", "revision": DEFAULT_HUB_REVISION, "local_files_only": False,
                                  "resume_size": 0}
    assert _leftovers(tmp_path / "cache") == []  # the verified download is not kept twice
    # environment beats the default, flags beat the environment
    monkeypatch.setenv("SUITE_HUB_REPO", "me/mirror")
    monkeypatch.setenv("SUITE_HUB_REVISION", "v2")
    fake_hub.put("me/mirror", "v2", NB101_PARTIAL.relpath, data_dir / NB101_PARTIAL.relpath)
    fake_hub.put("me/other", "v3", NB101_PARTIAL.relpath, data_dir / NB101_PARTIAL.relpath)
    hub.pull("nb101-partial", dest)
    assert (fake_hub.calls[-1]["repo_id"], fake_hub.calls[-1]["revision"]) == ("me/mirror", "v2")
    hub.pull("nb101-partial", dest, repo_id="me/other", revision="v3")
    assert (fake_hub.calls[-1]["repo_id"], fake_hub.calls[-1]["revision"]) == ("me/other", "v3")
    with pytest.raises(UsageError, match="--repo 'not a repo'"):
        hub.pull("nb201", dest, repo_id="not a repo")


def test_pull_refuses_a_corrupt_file_and_keeps_the_installed_one(data_dir, fake_hub, tmp_path, capsys):
    good = (data_dir / NB201_GROUND_TRUTH.relpath).read_bytes()
    fake_hub.put(DEFAULT_HUB_REPO, DEFAULT_HUB_REVISION, NB201_GROUND_TRUTH.relpath, good.replace(b"85.86", b"95.86", 1))
    fresh = tmp_path / "fresh"
    assert main(["data", "pull", "nb201", "--data-dir", str(fresh)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not installed" in err and "the suite pins 8c46d06f9a5e" in err
    assert _leftovers(fresh) == []
    kept = _copy(data_dir, tmp_path / "kept", NB201_GROUND_TRUTH)
    with pytest.raises(DataError, match="not installed"):
        hub.pull("nb201", kept)
    assert (kept / NB201_GROUND_TRUTH.relpath).read_bytes() == good and len(_leftovers(kept)) == 1


def test_offline_and_missing_are_one_line(fake_hub, tmp_path, capsys, monkeypatch):
    dest = tmp_path / "data"
    assert main(["data", "pull", "nb201", "--offline", "--data-dir", str(dest)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot pull nb201/nb201_ground_truth.csv from hub dataset nas-estimator-suite/data@v1:"
                          " offline and not in the local hub cache") and "\n" not in err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="offline and not in the local hub cache"):
        hub.pull("nb201", dest)
    assert fake_hub.calls[-1]["local_files_only"] is True
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert main(["data", "pull", "nb201", "--data-dir", str(dest)]) == 1  # the repository does not exist
    err = capsys.readouterr().err.strip()
    assert "no such repository" in err and "\n" not in err
    fake_hub.put(DEFAULT_HUB_REPO, DEFAULT_HUB_REVISION, "README.md", b"hi")
    with pytest.raises(DataError, match="no such file"):
        hub.pull("nb101-partial", dest)
    assert _leftovers(dest) == []


def test_a_download_that_fails_midway_installs_nothing_and_the_next_pull_resumes_it(data_dir, fake_hub, tmp_path,
                                                                                     monkeypatch):
    good = (data_dir / NB201_GROUND_TRUTH.relpath).read_bytes()
    fake_hub.put(DEFAULT_HUB_REPO, DEFAULT_HUB_REVISION, NB201_GROUND_TRUTH.relpath, good)
    serve = fake_hub.http_get

    def dropped(url, handle, resume_size, displayed_filename):
        handle.write(good[resume_size:1_000_000])  # what had arrived before the network went
        raise httpx2.ReadError("connection reset by peer\nmore detail")

    monkeypatch.setattr(hub, "_http_get", dropped)
    dest = tmp_path / "data"
    with pytest.raises(DataError) as err:
        hub.pull("nb201", dest)
    assert "\n" not in str(err.value) and "failed after 1,000,000 bytes (ReadError: connection reset by peer)" in str(err.value)
    assert "pull again to resume" in str(err.value)
    assert _leftovers(dest) == []
    [partial] = _leftovers(tmp_path / "cache")
    assert partial.name.endswith(".incomplete") and partial.stat().st_size == 1_000_000
    monkeypatch.setattr(hub, "_http_get", serve)
    hub.pull("nb201", dest)  # a new process would do the same: the bytes are on disk
    assert fake_hub.calls[-1]["resume_size"] == 1_000_000
    assert (dest / NB201_GROUND_TRUTH.relpath).read_bytes() == good and _leftovers(tmp_path / "cache") == []


def test_a_corrupt_download_is_not_kept_for_resuming(data_dir, fake_hub, tmp_path):
    good = (data_dir / NB201_GROUND_TRUTH.relpath).read_bytes()
    fake_hub.put(DEFAULT_HUB_REPO, DEFAULT_HUB_REVISION, NB201_GROUND_TRUTH.relpath, good[:-10] + b"0123456789")
    with pytest.raises(DataError, match="not installed"):
        hub.pull("nb201", tmp_path / "data")
    assert _leftovers(tmp_path / "cache") == []  # the next pull starts again from byte 0
    fake_hub.put(DEFAULT_HUB_REPO, DEFAULT_HUB_REVISION, NB201_GROUND_TRUTH.relpath, good)
    hub.pull("nb201", tmp_path / "data")
    assert fake_hub.calls[-1]["resume_size"] == 0


def test_an_install_interrupted_while_copying_leaves_the_old_file(data_dir, fake_hub, tmp_path, monkeypatch):
    fake_hub.put(DEFAULT_HUB_REPO, DEFAULT_HUB_REVISION, NB101_PARTIAL.relpath, data_dir / NB101_PARTIAL.relpath)
    dest = tmp_path / "data"
    old = dest / NB101_PARTIAL.relpath
    old.parent.mkdir(parents=True)
    old.write_text("the previous version\n")

    def half_copy(source, target):
        Path(target).write_bytes(Path(source).read_bytes()[:1000])
        raise KeyboardInterrupt

    monkeypatch.setattr(hub.shutil, "copyfile", half_copy)
    with pytest.raises(KeyboardInterrupt):
        hub.pull("nb101-partial", dest)
    assert old.read_text() == "the previous version\n" and _leftovers(dest) == [old]


def test_pull_cifar10_checks_the_decoded_content_before_installing(data_dir, cifar, cache_dir, fake_hub, tmp_path):
    fake_hub.put("uoft-cs/cifar10", "main", CIFAR10_TRAIN.path_in_repo, b"PAR1 not really a parquet file")
    dest = tmp_path / "data"
    with pytest.raises(DataError, match="does not decode to the pinned CIFAR-10 training images"):
        hub.pull("cifar10", dest, cache_dir=cache_dir)
    assert _leftovers(dest) == []
    fake_hub.put("uoft-cs/cifar10", "main", CIFAR10_TRAIN.path_in_repo, data_dir / CIFAR10_TRAIN.relpath)
    installed = hub.pull("cifar10", dest, cache_dir=cache_dir)  # decoded from the cache (same file bytes)
    assert installed == dest / CIFAR10_TRAIN.relpath and _leftovers(dest) == [installed]
    assert fake_hub.calls[-1]["filename"] == "plain_text/train-00000-of-00001.parquet"
    assert fake_hub.calls[-1]["revision"] is None


# --- push ---------------------------------------------------------------------------------------


class RecordingApi:
    """Stands in for huggingface_hub.HfApi: records every call, uploads nothing."""

    instances: list[RecordingApi] = []
    tags: list[str] = []

    def __init__(self, *args, **kwargs):
        self.calls = []
        RecordingApi.instances.append(self)

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def list_repo_refs(self, repo_id, **kwargs):
        self.calls.append(("list_repo_refs", repo_id, kwargs))
        return huggingface_hub.GitRefs(branches=[], converts=[], tags=[
            huggingface_hub.GitRefInfo(name=t, ref=f"refs/tags/{t}", target_commit="1" * 40) for t in RecordingApi.tags])

    def create_commit(self, repo_id, operations, **kwargs):
        self.calls.append(("create_commit", repo_id, sorted(op.path_in_repo for op in operations), kwargs))
        return huggingface_hub.CommitInfo(commit_url=f"https://huggingface.co/datasets/{repo_id}/commit/{'a' * 40}",
                                          commit_message=kwargs["commit_message"], commit_description="", oid="a" * 40)

    def create_tag(self, repo_id, **kwargs):
        self.calls.append(("create_tag", repo_id, kwargs))


@pytest.fixture
def fake_api(monkeypatch):
    RecordingApi.instances, RecordingApi.tags = [], []
    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_not_a_real_token_123")
    return RecordingApi


def test_push_uploads_the_verified_files_and_tags_the_revision(data_dir, fake_api, tmp_path, capsys):
    prepared = _copy(data_dir, tmp_path / "publish", NB201_GROUND_TRUTH, NB101_PARTIAL, NB301_PARTIAL)
    _imported_table(prepared)
    (prepared / "cifar10").mkdir()  # CIFAR-10 is pulled from uoft-cs/cifar10, never pushed
    (prepared / "notes.txt").write_text("not a suite file")
    assert main(["data", "push", str(prepared), "--repo", "me/suite-data", "--revision", "v2"]) == 0
    out = capsys.readouterr().out
    assert "uploaded 5 file(s) to hub dataset me/suite-data and tag v2" in out and "hf_not_a_real" not in out
    [api] = fake_api.instances
    names = [c[0] for c in api.calls]
    assert names == ["create_repo", "list_repo_refs", "create_commit", "create_tag"]
    assert api.calls[0] == ("create_repo", "me/suite-data", {"repo_type": "dataset", "exist_ok": True})
    _, repo, uploaded, kwargs = api.calls[2]
    assert repo == "me/suite-data" and kwargs["repo_type"] == "dataset"
    assert uploaded == sorted([NB201_GROUND_TRUTH.relpath, NB101_PARTIAL.relpath, NB301_PARTIAL.relpath,
                               NDS_RESNEXTA_GROUND_TRUTH.relpath, "nds/nds_resnexta_ground_truth.json"])
    assert NB201_GROUND_TRUTH.sha256[:12] in kwargs["commit_description"]
    assert api.calls[3] == ("create_tag", "me/suite-data", {"tag": "v2", "revision": "a" * 40, "repo_type": "dataset",
                                                            "tag_message": "suite data v2"})


def test_push_dry_run_and_refusals_never_reach_the_hub(data_dir, fake_api, tmp_path, capsys, monkeypatch):
    prepared = _copy(data_dir, tmp_path / "publish", NB201_GROUND_TRUTH)
    assert main(["data", "push", str(prepared), "--repo", "me/suite-data", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would upload 1 file(s) to hub dataset me/suite-data and tag {DEFAULT_HUB_REVISION}" in out
    assert NB201_GROUND_TRUTH.relpath in out and fake_api.instances == []
    # a file that differs from the manifest is refused, in one line
    table = prepared / NB201_GROUND_TRUTH.relpath
    table.write_bytes(table.read_bytes().replace(b"85.86", b"95.86", 1))
    assert main(["data", "push", str(prepared), "--repo", "me/suite-data"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "differs from the manifest's pin 8c46d06f9a5e" in err and "refusing to push" in err
    assert fake_api.instances == []
    # an imported table whose sidecar does not match
    shutil.copyfile(data_dir / NB201_GROUND_TRUTH.relpath, table)
    nds = _imported_table(prepared)
    nds.write_text(nds.read_text().replace("91.5", "92.5"))
    with pytest.raises(DataError, match="refusing to push"):
        hub.push(prepared, "me/suite-data")
    nds.unlink()
    # an existing tag is never moved; no token is one line
    fake_api.tags = ["v1"]
    with pytest.raises(DataError, match="already has the tag v1"):
        hub.push(prepared, "me/suite-data")
    assert [c[0] for c in fake_api.instances[-1].calls] == ["create_repo", "list_repo_refs"]
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(DataError, match="no Hugging Face token: set HF_TOKEN"):
        hub.push(prepared, "me/suite-data", revision="v9")
    with pytest.raises(DataError, match="holds none of the suite's files"):
        hub.push(tmp_path / "publish" / "nb201", "me/suite-data", dry_run=True)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcXYZ019._-/ :~\\", max_size=30))
def test_repo_ids_parse_or_fail_in_one_line(text):
    try:
        parsed = hub.parse_repo_id(text)
    except UsageError as exc:
        assert "\n" not in str(exc) and "OWNER/NAME" in str(exc)
    else:
        owner, name = parsed.split("/")
        assert parsed == text and owner and name and " " not in text and ".." not in text


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}/[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True))
def test_well_formed_repo_ids_are_accepted(text):
    if not text.endswith("-"):
        assert hub.parse_repo_id(text) == text


def test_sidecar_digest_is_what_the_table_hashes_to(tmp_path):
    path = _imported_table(tmp_path)
    assert inventory.read_sidecar(path)["table_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
