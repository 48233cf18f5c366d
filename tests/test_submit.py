"""`suite submit` and the pull-request workflow, run locally with the workflow's own commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from suite.cli import main
from suite.errors import UsageError, VerificationError
from suite.keys import Signer, generate_key, key_id, load_private_key
from suite.results import ResultFile
from suite.signing import sign_result
from suite.submit import submission_path, submit

WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "submissions.yml"


@pytest.fixture
def root(tmp_path, signers_file):
    root = tmp_path / "submissions"
    root.mkdir()
    (root / "allowed_signers").write_text(signers_file.read_text())
    return root


def test_submit_places_the_file_under_a_stable_name(signed_file, root, data_dir, capsys):
    assert main(["submit", str(signed_file), "--submissions", str(root), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    [placed] = list((root / "nb201" / "params").glob("*.json"))
    assert placed.name.startswith("seed20-sample40-") and placed.read_bytes() == signed_file.read_bytes()
    assert f"placed at {placed}" in out and "git switch -c submit/nb201-params-" in out and "gh pr create" in out
    # the same file again changes nothing; another result for the same run needs --overwrite
    assert main(["submit", str(signed_file), "--submissions", str(root), "--data-dir", str(data_dir)]) == 0
    assert "already at" in capsys.readouterr().out


def test_submit_refuses_what_verify_refuses(tmp_path, root, data_dir, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"mediaType": 1}')
    assert main(["submit", str(bad), "--submissions", str(root), "--data-dir", str(data_dir)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "envelope" in err and "\n" not in err.strip()
    assert not list(root.rglob("*.json"))


def test_hostile_names_cannot_leave_submissions(signed_file, signing_key, root, data_dir, tmp_path):
    raw = json.loads(signed_file.read_text())["result"]
    raw["estimator"]["name"] = "../../../../tmp/evil"
    with pytest.raises(VerificationError, match="estimator name '../../../../tmp/evil' must match"):
        submission_path(ResultFile.model_validate(raw), root)
    raw["estimator"]["name"] = "params"
    raw["benchmark"]["name"] = "../nb201"
    with pytest.raises(VerificationError, match="benchmark '../nb201' is not one of this suite's"):
        submission_path(ResultFile.model_validate(raw), root)


def test_a_new_signer_adds_their_key_in_the_same_pull_request(signed_file, root, data_dir, tmp_path):
    newcomer, _ = generate_key(tmp_path / "newcomer")
    key = load_private_key(newcomer)
    raw = json.loads(signed_file.read_text())["result"]
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(sign_result(ResultFile.model_validate(raw), key)))
    me = Signer("you", key.public_key(), key_id(key.public_key()))
    with pytest.raises(UsageError, match="not yet a trusted signer: pass --add-signer"):
        submit(path, root, data_dir, own_signer=me)
    done = submit(path, root, data_dir, own_signer=me, principal="newcomer")
    assert done.new_signer_line.startswith("newcomer ssh-ed25519 ")
    assert done.new_signer_line in (root / "allowed_signers").read_text().splitlines()
    assert any("allowed_signers" in step for step in done.steps)
    # once merged, the file verifies against the repository's signers
    assert main(["verify", str(done.target), "--signers", str(root / "allowed_signers"), "--data-dir", str(data_dir)]) == 0


def test_open_pr_runs_git_and_gh(signed_file, root, data_dir, tmp_path, monkeypatch, capsys):
    """With gh on PATH, --open-pr commits on a branch, pushes, and opens the PR (a fake gh records it)."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = root.parent
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for command in (["init", "-q", "-b", "main"], ["remote", "add", "origin", str(remote)],
                    ["add", "submissions"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *command], cwd=repo, check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'gh-args'}\necho https://github.com/o/r/pull/1\n")
    (bin_dir / "gh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(repo)
    assert main(["submit", str(signed_file), "--data-dir", str(data_dir), "--open-pr"]) == 0
    assert "https://github.com/o/r/pull/1" in capsys.readouterr().out
    assert (tmp_path / "gh-args").read_text().split() == ["pr", "create", "--fill"]
    branches = subprocess.run(["git", "branch", "-r"], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert "origin/submit/nb201-params-seed20-sample40-" in branches


def _workflow_steps() -> list[dict]:
    """The workflow's steps that run the suite (name, run script, working directory)."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    return [step for step in steps if "run" in step and "suite " in step["run"]]


def test_the_workflow_runs_verify_and_the_leaderboard(signed_file, signers_file, data_dir, cache_dir, tmp_path):
    """Every `suite` command of the workflow, verbatim, in its working directory of a checkout-like
    layout (pr/ = the pull request, base/ = the trusted branch): all pass."""
    pr, base = tmp_path / "pr", tmp_path / "base"
    (base / "submissions").mkdir(parents=True)
    (base / "submissions" / "allowed_signers").write_text(signers_file.read_text())
    (pr / "submissions").mkdir(parents=True)
    assert main(["submit", str(signed_file), "--submissions", str(pr / "submissions"),
                 "--key", str(tmp_path / "no-key"), "--data-dir", str(data_dir)]) == 3  # pr/ trusts nobody yet
    (pr / "submissions" / "allowed_signers").write_text(signers_file.read_text())
    assert main(["submit", str(signed_file), "--submissions", str(pr / "submissions"), "--data-dir", str(data_dir)]) == 0
    steps = _workflow_steps()
    assert [step["name"] for step in steps] == [
        "Data (ground truth and CIFAR-10, checked against the shipped checksums)",
        "Verify every submission", "Leaderboard tables from the verified submissions", "The site builds from them",
        "Data (ground truth)", "Build the site from the verified submissions"]
    shutil.copytree(pr, tmp_path / "main")  # the pages job checks main out at main/
    env = {**os.environ, "SUITE_DATA_DIR": str(data_dir), "SUITE_CACHE_DIR": str(cache_dir),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for step in steps:
        if "data pull" in step["run"]:
            continue  # the hub download; tests/test_data.py covers `suite data pull` offline
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path / step.get("working-directory", "."),
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, (step["name"], done.stderr[-2000:])
    report = json.loads((tmp_path / "verify-report.json").read_text())
    checks = {c["name"]: c["status"] for c in report["files"][0]["checks"]}
    assert report["ok"] and checks["rerun"] == "pass" and checks["layout"] == "pass"
    for site in ("site-preview", "site"):
        assert (tmp_path / site / "index.html").is_file() and list((tmp_path / site / "estimators").glob("*.html"))

    # a pull request that adds its own signer and its own results does not pass: signers come from base/
    (base / "submissions" / "allowed_signers").write_text("# nobody\n")
    verify = next(step for step in steps if step["name"] == "Verify every submission")
    done = subprocess.run(["bash", "-e", "-c", verify["run"]], cwd=pr, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 3


def test_verify_catches_copies_and_misplaced_files(signed_file, signers_file, data_dir, tmp_path, capsys):
    root = tmp_path / "submissions"
    root.mkdir()
    (root / "allowed_signers").write_text(signers_file.read_text())
    assert main(["submit", str(signed_file), "--submissions", str(root), "--data-dir", str(data_dir)]) == 0
    [placed] = list(root.rglob("*.json"))
    shutil.copy(placed, placed.with_name("seed2020-copy.json"))  # one run counted as two seeds
    (root / ".hidden.json").write_text('{"schema_version": 1}')  # hidden files are checked too
    capsys.readouterr()
    code = main(["verify", str(root), "--signers", str(root / "allowed_signers"), "--layout", "--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    assert code == 3
    assert "FAIL" in out and "the same run as" in out and ".hidden.json: envelope" in out


def test_the_repository_submissions_verify(data_dir, cache_dir):
    """What submissions/ holds passes every check against this suite (a protocol change that
    invalidates them fails here, not on the published site)."""
    from suite.verify import Verifier, find_files

    root = WORKFLOW.parent.parent.parent / "submissions"
    files = find_files([root])
    assert files, "submissions/ should hold the project's signed baseline results"
    verifier = Verifier(root / "allowed_signers", data_dir, cache_dir)
    for path in files:
        report = verifier.verify(path)
        assert report.ok, [f"{c.name}: {c.message}" for c in report.checks if c.status == "fail"]
        assert report.signer == "nas-estimator-suite"
