"""The command line end to end: list, run, errors as one line with distinct exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from suite.cli import cli, main
from suite.results import read_result
from conftest import result_path


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(_commands(cli)))
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_help_imports_no_torch():
    """`suite --help` stays light: each command defers its heavy imports (torch, the leaderboard, estimators)."""
    code = ("import sys\nfrom suite.cli import main\nassert main(['--help']) == 0\n"
            "print(sorted(m for m in ('torch', 'leaderboard', 'estimators', 'suite.runner') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True, check=True)
    assert "Usage" in done.stdout and done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("path, args, name, value", [
    (["analyze"], ["r.json", "--gt-column", "valid_acc", "--out", "a"], "gt_column", "valid_acc"),
    (["analyze"], ["r.json", "--gt", "valid_acc", "--out-dir", "a"], "out_dir", Path("a")),
    (["analyze"], ["r.json", "--out", "a"], "out_dir", Path("a")),
    (["run"], ["-e", "params", "-b", "nb201", "--gt-column", "valid_acc"], "gt_column", "valid_acc"),
    (["merge"], ["j.jsonl", "--gt-column", "valid_acc"], "gt_column", "valid_acc"),
    (["leaderboard", "build"], ["--out", "s"], "out_dir", Path("s")),
])
def test_old_option_spellings_still_work_and_are_not_shown(path, args, name, value):
    command = cli
    for part in path:
        command = command.commands[part]
    assert command.make_context(path[-1], list(args)).params[name] == value
    shown = CliRunner().invoke(cli, [*path, "--help"]).output
    assert "--gt-column" not in shown and "--out " not in shown.replace("--out FILE", "")


def test_list_shows_estimators_and_benchmarks():
    result = CliRunner().invoke(cli, ["list", "--json"])
    listing = json.loads(result.output)
    assert {"params", "flops", "random"} <= {e["name"] for e in listing["estimators"]}
    assert [b["name"] for b in listing["benchmarks"]] == [
        "nb201", "nb101", "nb301", "nds-resnet", "nds-resnexta", "nb101-partial", "nb301-partial"]


def test_run_writes_a_result_and_prints_the_criteria(data_dir, tmp_path, capsys):
    out = tmp_path / "flops.json"
    code = main(["run", "-e", "flops", "-b", "nb201", "--data-dir", str(data_dir), "--out", str(out), "-q"])
    printed = capsys.readouterr()
    assert code == 0
    assert "KD" in printed.out and "P@top5%" in printed.out and f"wrote {out}" in printed.err
    result = read_result(out)
    assert result.benchmark.complete and len(result.arch_ids) == 15625
    assert 0.5 < result.snapshots[0].criteria.values["KD"] < 0.7
    # the same file again needs --overwrite: nothing computed is lost silently
    code = main(["run", "-e", "flops", "-b", "nb201", "--data-dir", str(data_dir), "--out", str(out), "-q"])
    assert code == 2 and "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("args, code, fragment", [
    (["run", "-e", "parms", "-b", "nb201"], 2, "did you mean 'params'"),
    (["run", "-e", "params", "-b", "nb999"], 2, "unknown benchmark 'nb999'"),
    (["run", "-e", "params", "-b", "nb201", "-c", "x=1"], 2, "has no option 'x'"),
    (["run", "-e", "params", "-b", "nb201", "--gt", "acc"], 2, "unknown ground-truth column 'acc'"),
    (["run", "-e", "params", "-b", "nb201", "--sample", "20000"], 2, "--sample must be between 1 and 15625"),
])
def test_usage_errors_are_one_line(data_dir, tmp_path, capsys, args, code, fragment):
    assert main([*args, "--data-dir", str(data_dir), "--out", str(tmp_path / "r.json"), "-q"]) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and fragment in err and "\n" not in err and "Traceback" not in err


def test_missing_data_is_one_line(tmp_path, capsys):
    assert main(["run", "-e", "params", "-b", "nb201", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: nb201 ground truth not found") and "\n" not in err


def test_same_command_twice_gives_byte_identical_scores(data_dir, cache_dir, tmp_path):
    """Twice on CPU, the same command: byte-identical scores (gradients, float64 products, hashes),
    with every setting that can change a number recorded."""
    names = ["random", "synflow", "grad_norm"]
    for run in ("a", "b"):
        assert main(["run", "-e", ",".join(names), "-b", "nb201", "--seed", "2020", "--sample", "6", "--batches", "2",
                     "-c", "batch_size=16", "--threads", "1", "--data-dir", str(data_dir), "--cache-dir", str(cache_dir),
                     "--out-dir", str(tmp_path / run), "-q"]) == 0
    for name in names:
        a, b = (read_result(result_path(tmp_path / run / "nb201" / name, 2020)) for run in ("a", "b"))
        assert json.dumps([s.model_dump(mode="json") for s in a.snapshots]) == \
            json.dumps([s.model_dump(mode="json") for s in b.snapshots])
        assert a.protocol.fingerprint == b.protocol.fingerprint
        record = a.provenance["determinism"]
        assert record["cudnn_deterministic"] and not record["cudnn_benchmark"] and record["deterministic_algorithms"]
        assert not record["tf32_matmul"] and not record["tf32_cudnn"] and record["cublas_workspace_config"]
        assert record["torch_threads"] == 1 and a.provenance["threads"] == 1
        assert a.provenance["seeds"] == {"run": 2020, "sample": 0}
        assert {"torch", "numpy", "device", "dtype"} <= set(a.provenance["environment"])


def test_random_baseline_is_order_free_and_seeded(nb201):
    from estimators.baselines import RandomScore
    from suite.estimator import RunContext

    archs = nb201.archs[:100]
    est = RandomScore()
    s20 = est.score(archs, RunContext(nb201.spec.space, seed=20))
    assert (est.score(archs[::-1], RunContext(nb201.spec.space, seed=20))[::-1] == s20).all()
    assert not (est.score(archs, RunContext(nb201.spec.space, seed=2020)) == s20).any()
    assert ((s20 >= 0) & (s20 < 1)).all()


def test_run_json_output(data_dir, tmp_path, capsys):
    assert main(["run", "-e", "params", "-b", "nb201", "--sample", "300", "--json", "-q",
                 "--data-dir", str(data_dir), "--out", str(tmp_path / "p.json")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["final"]["n"] == 300 and printed["final"]["nonfinite_policy"] == "worst"
    assert set(printed["final"]["values"]) >= {"KD", "SpearmanR", "LC", "P@top5%", "BR@0.5%"}


def test_leaderboard_table_lists_results_and_skips_broken_files(data_dir, tmp_path, capsys):
    for seed in ("20", "2020"):
        assert main(["run", "-e", "random", "-b", "nb201", "--seed", seed, "--sample", "400", "-q",
                     "--data-dir", str(data_dir), "--out", str(tmp_path / f"random-{seed}.json")]) == 0
    (tmp_path / "broken.json").write_text("{")
    capsys.readouterr()
    assert main(["leaderboard", "table", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert len(rows) == 1 and rows[0]["estimator"] == "random" and rows[0]["seeds"] == 2
    assert "broken.json: not valid JSON" in captured.err


def test_leaderboard_table_escapes_control_characters_of_names(signed_file, tmp_path, capsys):
    raw = json.loads(signed_file.read_text())["result"]
    raw["estimator"]["name"] = "\x1b[2J\x1b[31mevil\r"
    (tmp_path / "r.json").write_text(json.dumps(raw))
    (tmp_path / "bad\x1b[31m.json").write_text("{")
    assert main(["leaderboard", "table", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\r" not in captured.out
    assert "\\x1b[2J\\x1b[31mevil\\r" in captured.out and "bad\\x1b[31m.json" in captured.err
