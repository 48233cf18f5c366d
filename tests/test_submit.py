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
from suite.results import ResultFile, read_result
from suite.signing import sign_result
from suite.submission_layout import submission_path
from suite.submit import submit

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


def test_a_new_signer_proposes_their_key_in_a_pull_request_of_its_own(signed_file, root, data_dir, tmp_path):
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
    # the key goes alone in its own pull request (CI fails one that adds a signer and results together)
    [add] = [step for step in done.steps if step.startswith("git add")]
    assert add == f"git add {root / 'allowed_signers'}" and "git switch -c signer/newcomer" in done.steps
    assert any(f"suite submit {path}` again" in step for step in done.steps)
    # once merged, the file verifies against the repository's signers
    assert main(["verify", str(done.target), "--signers", str(root / "allowed_signers"), "--data-dir", str(data_dir)]) == 0


def test_add_signer_refuses_a_principal_already_listed(signed_file, root, data_dir, tmp_path, capsys):
    """A newcomer cannot propose a key for a principal that allowed_signers already lists (the
    project's own, or another person's): that would let them sign as that principal."""
    newcomer, _ = generate_key(tmp_path / "newcomer")
    key = load_private_key(newcomer)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(sign_result(ResultFile.model_validate(json.loads(signed_file.read_text())["result"]), key)))
    me = Signer("you", key.public_key(), key_id(key.public_key()))
    signers_before = (root / "allowed_signers").read_text()
    for principal in ("tester", "Tester"):  # "tester" is listed (conftest); GitHub handles ignore case
        with pytest.raises(UsageError, match=rf"--add-signer {principal}: .*allowed_signers already lists the principal "
                                             r"tester; .*must be a maintainer's separate pull request"):
            submit(path, root, data_dir, own_signer=me, principal=principal)
    code = main(["submit", str(path), "--submissions", str(root), "--key", str(newcomer), "--add-signer", "tester",
                 "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --add-signer tester: ") and "\n" not in err.strip()
    assert (root / "allowed_signers").read_text() == signers_before and not list(root.rglob("*.json"))


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
        "Data (CIFAR-10 and the ground truth of every benchmark under submissions/, checked against the shipped "
        "checksums)",
        "Verify every submission", "Leaderboard tables from the verified submissions", "The site builds from them",
        "Data (the ground truth of every benchmark under submissions/)", "Build the site from the verified submissions"]
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


def _run_data_steps(workspace: Path, tmp_path: Path) -> dict[str, set[str]]:
    """Each job's `data pull` steps, run verbatim in ``workspace`` with a `suite` that only records
    its arguments: job -> the data files it pulls."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "pulls.log"
    (bin_dir / "suite").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "suite").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    pulled: dict[str, set[str]] = {}
    for job_name, job in yaml.safe_load(WORKFLOW.read_text())["jobs"].items():
        for step in job["steps"]:
            if "data pull" not in step.get("run", ""):
                continue
            log.write_text("")
            done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace / step.get("working-directory", "."),
                                  env=env, capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0, (step["name"], done.stderr[-2000:])
            for line in log.read_text().splitlines():
                words = line.split()
                assert words[:2] == ["data", "pull"], line
                pulled.setdefault(job_name, set()).update(w for w in words[2:] if w != "--")
    return pulled


def test_the_workflow_pulls_the_data_of_every_benchmark_under_submissions(tmp_path):
    """Each job that reads submissions/ pulls the ground truth of every benchmark that has a
    directory there (and the verify job CIFAR-10, for `rerun`): on the repository's own directories,
    and on a directory for each benchmark of the suite, so a new benchmark cannot go unpulled."""
    from suite.benchmarks import BENCHMARKS

    real = sorted(p.name for p in (WORKFLOW.parents[2] / "submissions").iterdir() if p.is_dir())
    assert real and all(name in BENCHMARKS for name in real), real
    for names in (real, sorted(BENCHMARKS)):
        workspace = tmp_path / f"ws-{len(names)}"
        for checkout in ("pr", "main"):  # the verify job reads pr/submissions, the pages job main/submissions
            for name in names:
                (workspace / checkout / "submissions" / name).mkdir(parents=True)
            (workspace / checkout / "submissions" / "allowed_signers").write_text("# nobody\n")
        needed = {BENCHMARKS[name].gt_file.name for name in names}
        pulled = _run_data_steps(workspace, tmp_path)
        assert set(pulled) == {"verify", "pages"}
        assert needed | {"cifar10"} <= pulled["verify"], sorted((needed | {"cifar10"}) - pulled["verify"])
        assert needed <= pulled["pages"], sorted(needed - pulled["pages"])


def _signers_step() -> dict:
    [step] = [s for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values() for s in job["steps"]
              if "allowed_signers" in s.get("run", "") and "git diff" in s.get("run", "")]
    return step


def test_the_workflow_fails_a_pull_request_that_adds_a_signer_and_results(signed_file, signers_file, tmp_path):
    """The workflow's trusted-signers step, verbatim, on a checkout-like layout: a pull request that
    changes allowed_signers must change nothing else under submissions/, and the new file must load."""
    step = _signers_step()
    assert step["if"] == "github.event_name == 'pull_request'"
    listed = signers_file.read_text().strip()
    _, new_pub = generate_key(tmp_path / "newcomer")
    newcomer = f"newcomer {new_pub.read_text().strip()}"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run(signers: str, extra: dict[str, str | None]) -> subprocess.CompletedProcess:
        workspace = tmp_path / f"ws-{len(list(tmp_path.glob('ws-*')))}"
        for checkout in ("base", "pr"):
            (workspace / checkout / "submissions" / "nb201" / "params").mkdir(parents=True)
            (workspace / checkout / "submissions" / "allowed_signers").write_text(listed + "\n")
            shutil.copy(signed_file, workspace / checkout / "submissions" / "nb201" / "params" / "seed20-old.json")
        (workspace / "pr" / "submissions" / "allowed_signers").write_text(signers)
        for rel, text in extra.items():
            target = workspace / "pr" / "submissions" / rel
            if text is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
        return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    result = {"nb201/params/seed20-new.json": signed_file.read_text()}
    done = run(listed + "\n", {})  # nothing changed
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    done = run(listed + "\n", result)  # results only: the signers are untouched
    assert done.returncode == 0 and "::" not in done.stdout, done.stdout + done.stderr
    done = run(f"{listed}\n{newcomer}\n", {})  # a new signer, alone: passes, flagged for review
    assert done.returncode == 0 and "::warning" in done.stdout and "::error" not in done.stdout, done.stdout + done.stderr
    for extra in (result, {"nb201/params/seed20-old.json": None}, {"README.md": "hi"}):  # a signer and anything else
        done = run(f"{listed}\n{newcomer}\n", extra)
        assert done.returncode == 1, (extra, done.stdout, done.stderr)
        [error] = [line for line in done.stdout.splitlines() if line.startswith("::error")]
        assert "changes submissions/allowed_signers and 1 other file(s)" in error and "its own pull request" in error
    # the same key under a second principal fails with the parser's one-line reason
    mallory = "mallory " + " ".join(listed.split()[1:3])
    done = run(f"{listed}\n{mallory}\n", {})
    assert done.returncode == 1 and "::error file=submissions/allowed_signers::" in done.stdout, done.stdout + done.stderr
    assert "for mallory (line 2) and for tester (line 1)" in done.stdout and "Traceback" not in done.stderr
    # a new key for an existing principal is flagged
    done = run(f"{listed}\ntester {new_pub.read_text().strip()}\n", {})
    assert done.returncode == 0 and "a new key SHA256:" in done.stdout and "existing principal tester" in done.stdout


def _codeowners() -> list[tuple[str, list[str]]]:
    lines = (WORKFLOW.parents[1] / "CODEOWNERS").read_text().splitlines()
    return [(line.split()[0], line.split()[1:]) for line in lines if line.strip() and not line.startswith("#")]


def _owners(path: str) -> list[str]:
    """The owners of ``path`` (the last matching rule wins; only anchored rules are written here)."""
    owners: list[str] = []
    for pattern, who in _codeowners():
        assert pattern.startswith("/") and "*" not in pattern, f"write CODEOWNERS rules as anchored paths: {pattern}"
        if (pattern.endswith("/") and ("/" + path).startswith(pattern)) or "/" + path == pattern:
            owners = who
    return owners


def test_codeowners_covers_everything_the_verdict_depends_on():
    """Every file of the suite (digest, schema, metrics, protocol, rerun, GT pins), the estimators
    that `rerun` re-scores, the site builder, the workflows and the signers need a maintainer."""
    repo = WORKFLOW.parents[2]
    handles = {who for _, owners in _codeowners() for who in owners}
    assert handles == {"@nas-estimator-suite/maintainers"}
    tracked = subprocess.run(["git", "ls-files", "suite", "estimators", "leaderboard", ".github"], cwd=repo,
                             capture_output=True, text=True, check=True).stdout.split()
    must = ["suite/canonical.py", "suite/data/manifest.py", "suite/rerun.py", "leaderboard/site.py",
            "estimators/baselines.py", ".github/workflows/submissions.yml", ".github/CODEOWNERS",
            "submissions/allowed_signers", *tracked]
    uncovered = [path for path in must if _owners(path) != ["@nas-estimator-suite/maintainers"]]
    assert not uncovered, uncovered[:10]
    assert _owners("submissions/nb201/params/seed0-abcdef01.json") == []  # results are reviewed by CI, not owners


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


def test_the_repository_submissions_sit_where_the_naming_rule_puts_them():
    """suite.results.result_file_name, with the result's config, names every file in submissions/."""
    root = WORKFLOW.parent.parent.parent / "submissions"
    files = sorted(root.rglob("*.json"))
    assert files
    for path in files:
        assert submission_path(read_result(path), root) == path
