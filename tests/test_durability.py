"""Nothing written or computed is lost: result files are never replaced behind --overwrite's back,
a kill at the write or a full disk leaves a state the same command finishes from, keys are whole or
absent, and a site build replaces only a site it made.

Fault injection: a `suite` subprocess SIGKILLed right before or right after a result gets its name
(os.link / os.replace / os.rename wrapped in the child), a full disk as ``OSError(ENOSPC)`` from
``os.fsync`` or a site page write, a real write failure from RLIMIT_FSIZE.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from suite.cli import main
from suite.keys import load_private_key
from suite.results import MAX_FILE_BYTES, read_result

ROOT = Path(__file__).resolve().parents[1]


def _run_args(data_dir, out: Path, *extra: str) -> list[str]:
    return ["run", "-e", "params", "-b", "nb201", "--sample", "20", "--threads", "1", "-q", "--data-dir", str(data_dir),
            "--out", str(out), *extra]


def _one_line_error(err: str) -> str:
    err = err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def _records(journal_dir: Path) -> int:
    return sum(line.startswith(b'{"arch"') for p in journal_dir.glob("*.jsonl") for line in p.read_bytes().splitlines())


def _leftovers(directory: Path, name: str) -> list[Path]:
    """Temporary files of ``name`` (whatever a writer calls them: ``.name.tmp...``)."""
    return [p for p in directory.iterdir() if p.name.startswith(f".{name}.")]


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk("fragment")``: os.fsync of a file whose path holds the fragment fails with ENOSPC."""
    real = os.fsync

    def install(fragment: str) -> None:
        def fsync(fd):
            try:
                name = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                name = ""
            if fragment in name:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    yield install
    monkeypatch.setattr(os, "fsync", real)


# --- item 5: the check that nothing is replaced happens at the write

def test_a_write_without_overwrite_never_replaces_a_file(signed_file, signing_key, tmp_path):
    from suite.atomic import TargetExistsError, write_atomically
    from suite.signing import write_signed_result

    target = tmp_path / "r.json"
    target.write_text("the first run's result\n")
    with pytest.raises(TargetExistsError, match="r.json exists"):
        write_atomically(target, "another\n")
    with pytest.raises(TargetExistsError):
        write_signed_result(read_result(signed_file), target, load_private_key(signing_key))
    assert target.read_text() == "the first run's result\n" and not _leftovers(tmp_path, "r.json")
    write_atomically(target, "replaced\n", overwrite=True)
    assert target.read_text() == "replaced\n"


def test_a_result_written_by_another_run_while_this_one_scored_is_kept(data_dir, tmp_path, capsys, monkeypatch):
    """Two runs with different journals and the same --out: the one that writes second fails and keeps its journal."""
    import suite.runner

    out = tmp_path / "r.json"
    first = tmp_path / "first.json"
    assert main(_run_args(data_dir, first)) == 0
    real_execute = suite.runner.execute

    def execute_while_the_other_run_writes(*args, **kwargs):
        outcome = real_execute(*args, **kwargs)
        shutil.copy(first, out)  # the other run (started at the same time) finishes first
        return outcome

    monkeypatch.setattr(suite.runner, "execute", execute_while_the_other_run_writes)
    capsys.readouterr()
    assert main(_run_args(data_dir, out, "--sample", "21")) == 2
    err = _one_line_error(capsys.readouterr().err)
    assert "r.json exists and holds another result than this run's" in err and "keeps the scores" in err
    assert out.read_bytes() == first.read_bytes()
    assert _records(tmp_path / ".journal") == 21  # this run's scores are kept
    monkeypatch.setattr(suite.runner, "execute", real_execute)
    assert main(_run_args(data_dir, tmp_path / "elsewhere.json", "--sample", "21", "--journal-dir",
                          str(tmp_path / ".journal"))) == 0


# --- item 6: a kill at the write; the same command finishes

HOOK = textwrap.dedent("""
    import os, signal, sys

    target, when = sys.argv[1], sys.argv[2]

    def hooked(real):
        def call(src, dst, *args, **kwargs):
            if os.fspath(dst) == target and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            done = real(src, dst, *args, **kwargs)
            if os.fspath(dst) == target and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return done
        return call

    os.replace, os.rename, os.link = hooked(os.replace), hooked(os.rename), hooked(os.link)
    from suite.cli import main
    sys.exit(main(sys.argv[3:]))
""")


def _killed_at_the_write(tmp_path: Path, target: Path, when: str, args: list[str]) -> None:
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(hook), str(target), when, *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_run_killed_at_its_result_write_finishes_when_run_again(data_dir, tmp_path, capsys, when):
    out = tmp_path / "results" / "r.json"
    args = _run_args(data_dir, out)
    _killed_at_the_write(tmp_path, out, when, args)
    journal_dir = out.parent / ".journal"
    assert _records(journal_dir) == 20 and out.exists() == (when == "after")
    if when == "after":
        written = out.read_bytes()
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err  # the same command, no --overwrite
    assert len(read_result(out).arch_ids) == 20
    if when == "after":
        assert out.read_bytes() == written  # this run's own file, kept
    assert not list(journal_dir.glob("*.jsonl")), "the journal is removed once the result is written"
    assert not _leftovers(out.parent, out.name), "no temporary file of the dead writer is left"


# --- items 6 and 9: a full disk at the result

def test_a_full_disk_at_the_result_keeps_the_journal_and_the_same_command_finishes(data_dir, tmp_path, capsys,
                                                                                    full_disk):
    out = tmp_path / "r.json"
    args = _run_args(data_dir, out, "--keep-journal")
    full_disk(".r.json.")
    assert main(args) == 1
    err = _one_line_error(capsys.readouterr().err)
    assert "cannot write" in err and "No space left on device" in err and "journal" in err
    assert not out.exists() and not _leftovers(tmp_path, "r.json")
    scored = _records(tmp_path / ".journal")
    assert scored == 20
    full_disk("nothing matches this")
    assert main(args) == 0 and len(read_result(out).arch_ids) == 20
    assert _records(tmp_path / ".journal") == scored, "nothing was scored twice"


@pytest.mark.parametrize("where", ["a file as parent", "/proc"])
def test_an_unwritable_out_is_one_line_before_any_work(data_dir, tmp_path, capsys, where):
    (tmp_path / "thesis.tex").write_text("years of work\n")
    out = tmp_path / "thesis.tex" / "r.json" if where == "a file as parent" else Path("/proc/nas-suite-test/r.json")
    assert main(_run_args(data_dir, out)) == 1
    err = _one_line_error(capsys.readouterr().err)
    assert "cannot create the directory" in err
    assert (tmp_path / "thesis.tex").read_text() == "years of work\n"


# --- item 7: keys are whole or absent

def test_keygen_on_a_full_disk_leaves_no_key_and_the_next_keygen_works(tmp_path, capsys, full_disk):
    key = tmp_path / "keys" / "signing_key"
    full_disk(".signing_key.")
    assert main(["keygen", "--out", str(key)]) == 1
    assert "No space left on device" in _one_line_error(capsys.readouterr().err)
    assert not key.exists() and not Path(f"{key}.pub").exists() and not _leftovers(key.parent, key.name)
    full_disk(".signing_key.pub.")  # the public half fails: no private half is left alone
    assert main(["keygen", "--out", str(key)]) == 1
    assert not key.exists() and not Path(f"{key}.pub").exists()
    full_disk("nothing matches this")
    assert main(["keygen", "--out", str(key)]) == 0
    load_private_key(key)


def test_keygen_hit_by_a_real_write_failure_leaves_nothing_that_blocks_the_next(tmp_path, capsys):
    """RLIMIT_FSIZE makes every write past 64 bytes fail (EFBIG), as a full disk does."""
    key = tmp_path / "signing_key"

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-m", "suite.cli", "keygen", "--out", str(key)], env=env,
                          capture_output=True, text=True, preexec_fn=small_files, timeout=120)
    assert done.returncode == 1 and "File too large" in _one_line_error(done.stderr)
    assert not key.exists() and not _leftovers(tmp_path, key.name)
    assert main(["keygen", "--out", str(key)]) == 0
    load_private_key(key)


def test_a_zero_byte_key_left_by_an_older_keygen_is_replaced(tmp_path):
    key = tmp_path / "signing_key"
    key.touch(mode=0o600)
    assert main(["keygen", "--out", str(key)]) == 0
    load_private_key(key)


# --- item 4 (and 9): the site replaces only a site it made

def _build(roots, out, signers_file, data_dir) -> int:
    return main(["leaderboard", "build", *map(str, roots), "--out-dir", str(out), "--signers", str(signers_file),
                 "--data-dir", str(data_dir), "--bootstrap", "0", "--no-analyses"])


@pytest.fixture
def submissions(signed_file, tmp_path) -> Path:
    root = tmp_path / "submissions"
    root.mkdir()
    shutil.copy(signed_file, root / "params.json")
    return root


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("what", ["a thesis directory", "the working directory", "the submissions", "a file"])
def test_the_site_build_refuses_what_it_did_not_make(submissions, signers_file, data_dir, tmp_path, capsys,
                                                     monkeypatch, what):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("years of work\n")
    monkeypatch.chdir(work)
    out = {"a thesis directory": work, "the working directory": Path("."), "the submissions": submissions,
           "a file": work / "thesis.tex"}[what]
    before = _tree(tmp_path)
    assert _build([submissions], out, signers_file, data_dir) == 2
    if what != "a file":  # click refuses that one itself, with its usage message
        _one_line_error(capsys.readouterr().err)
    assert _tree(tmp_path) == before


def test_a_rebuild_replaces_its_own_site_whole(submissions, signers_file, data_dir, tmp_path, capsys):
    out = tmp_path / "site"
    out.mkdir()  # empty: accepted
    assert _build([submissions], out, signers_file, data_dir) == 0
    assert (out / ".suite-site").is_file() and (out / "index.html").is_file()
    (out / "stale-page.html").write_text("from an older build")
    assert _build([submissions], out, signers_file, data_dir) == 0
    assert not (out / "stale-page.html").exists() and (out / "index.html").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_a_full_disk_during_the_build_keeps_the_previous_site(submissions, signers_file, data_dir, tmp_path, capsys,
                                                              monkeypatch):
    import leaderboard.site

    out = tmp_path / "site"
    assert _build([submissions], out, signers_file, data_dir) == 0
    before = _tree(out)
    real_write = leaderboard.site._write

    def write(path, text):
        if Path(path).name == "index.html":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, text)

    monkeypatch.setattr(leaderboard.site, "_write", write)
    capsys.readouterr()
    assert _build([submissions], out, signers_file, data_dir) == 1
    err = _one_line_error(capsys.readouterr().err)
    assert "No space left on device" in err and "left as it was" in err
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_what_a_killed_build_left_is_removed_by_the_next(submissions, signers_file, data_dir, tmp_path):
    from suite.atomic import TEMP_MARK

    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f".site{TEMP_MARK}{socket.gethostname()}-{dead.pid}"
    (left / "plots").mkdir(parents=True)
    assert _build([submissions], tmp_path / "site", signers_file, data_dir) == 0
    assert not left.exists()


def test_a_site_under_an_unwritable_parent_is_one_line(submissions, signers_file, data_dir, capsys):
    assert _build([submissions], Path("/proc/nas-suite-test/site"), signers_file, data_dir) == 1
    assert "cannot create the directory" in _one_line_error(capsys.readouterr().err)


# --- item 11: the size is checked before a file is read

def test_the_leaderboard_never_reads_an_oversized_file(signers_file, data_dir, tmp_path):
    from leaderboard.collect import collect

    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    tracemalloc.start()
    try:
        accepted, rejected = collect([tmp_path], signers_file, data_dir, jobs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not accepted and "larger than the" in rejected[0][1]
    assert peak < 16 * 2 ** 20, f"{peak / 2 ** 20:.0f} MiB held while rejecting an oversized file"


def test_the_early_check_of_the_out_directory_leaves_no_trace(tmp_path):
    from suite.atomic import WriteError, check_writable_dir

    check_writable_dir(tmp_path / "a" / "b" / "c")
    assert not (tmp_path / "a").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(WriteError, match=r"cannot create the directory .*f/d \(Not a directory\)"):
        check_writable_dir(tmp_path / "f" / "d")
