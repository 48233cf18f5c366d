"""Shards score deterministic slices; merge joins them into the unsharded run's results, or refuses."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from suite import registry
from suite.cli import main
from suite.estimator import Capabilities, Estimator
from suite.runner.journal import JournalError
from suite.results import read_result
from suite.runner import RunOptions, RunSpec, execute, merge
from conftest import result_path

SAMPLE = 30


class SizeVote(Estimator):
    """Components (params, flops) combined by mean rank over all scored architectures: a result
    that is only right when merge recombines the components of every shard together."""

    name, family, summary = "test-size-vote", "baseline", "mean rank of params and flops"
    capabilities = Capabilities(components=True)

    def components(self, space_name):
        return ("params", "flops")

    def score(self, archs, ctx, snapshot="final"):
        return np.array([[ctx.space.param_count(a), ctx.space.flop_count(a)] for a in archs], dtype=np.float64)

    def combine(self, values):
        return np.mean([rankdata(values[:, j]) for j in range(values.shape[1])], axis=0)


@pytest.fixture
def registered(monkeypatch):
    registry._load_all()
    monkeypatch.setitem(registry._REGISTRY, SizeVote.name, SizeVote)


def _specs(seed=20):
    return [RunSpec(benchmark="nb201", estimator=name, seed=seed, sample=SAMPLE)
            for name in ("params", "random", SizeVote.name)]


def _shard_journals(nb201, journal_dir, count, seed=20):
    paths = []
    for index in range(count):
        outcome = execute(_specs(seed), RunOptions(journal_dir=journal_dir, shard=(index, count), progress="none"),
                          loaded=nb201)
        assert outcome.results is None and outcome.planned == 3 * len(range(index, SAMPLE, count))
        paths.append(outcome.journal)
    return paths


def _text(result):
    return json.dumps([s.model_dump(mode="json") for s in result.snapshots], sort_keys=True), result.arch_ids


def test_merged_shards_equal_the_unsharded_run(registered, nb201, tmp_path):
    whole = execute(_specs(), RunOptions(progress="none"), loaded=nb201).results
    journals = _shard_journals(nb201, tmp_path, 3)
    merged = merge(list(reversed(journals)), loaded=nb201)  # any order
    assert [_text(r) for r in merged] == [_text(r) for r in whole]
    assert merged[0].provenance["shards"] == 3 and merged[0].benchmark.sample == {"n": SAMPLE, "seed": 0}
    # shards are strided slices of the run order: disjoint, covering
    ids = [json.loads(line)["arch"] for j in journals for line in j.read_text().splitlines() if line.startswith('{"arch"')]
    assert sorted(set(ids)) == sorted(nb201.sample_ids(SAMPLE, 0).tolist())


def test_merge_refuses_a_missing_shard(registered, nb201, tmp_path):
    journals = _shard_journals(nb201, tmp_path, 3)
    with pytest.raises(JournalError, match=r"shard 1/3 is missing .*--shard 1/3"):
        merge([journals[0], journals[2]], loaded=nb201)


def test_merge_refuses_overlapping_shards(registered, nb201, tmp_path):
    journals = _shard_journals(nb201, tmp_path, 2)
    copy = tmp_path / "copy.jsonl"
    shutil.copy(journals[1], copy)
    with pytest.raises(JournalError, match=r"shard 1/2 given twice .*overlap"):
        merge([*journals, copy], loaded=nb201)


def test_merge_refuses_shards_of_different_runs(registered, nb201, tmp_path):
    first = _shard_journals(nb201, tmp_path / "a", 2, seed=20)
    second = _shard_journals(nb201, tmp_path / "b", 2, seed=2020)
    with pytest.raises(JournalError, match=r"from a different run .*\(seed: 2020 vs 20\)"):
        merge([first[0], second[1]], loaded=nb201)
    with pytest.raises(JournalError, match=r"shard 0/3 but .* of 2 shards"):
        merge([first[0], _shard_journals(nb201, tmp_path / "c", 3)[0]], loaded=nb201)


def _remapped(nb201):
    """The benchmark as a re-imported table that swaps the architectures of two sampled ids."""
    import dataclasses

    archs = list(nb201.archs)
    a, b = nb201.positions(nb201.sample_ids(SAMPLE, 0)[:2])
    archs[a], archs[b] = archs[b], archs[a]
    return dataclasses.replace(nb201, archs=archs)


def test_merge_refuses_shards_run_on_other_architectures(registered, nb201, tmp_path):
    """Ids are 0..n-1 in every table, so only the architectures behind them show the remap."""
    journals = _shard_journals(nb201, tmp_path, 2)
    with pytest.raises(JournalError, match="architectures other than those in the data directory"):
        merge(journals, loaded=_remapped(nb201))


def test_a_journal_is_not_resumed_on_other_architectures(registered, nb201, tmp_path):
    options = RunOptions(journal_dir=tmp_path, progress="none")
    execute(_specs(), options, loaded=nb201)
    assert execute(_specs(), options, loaded=nb201).resumed == 3 * SAMPLE
    assert execute(_specs(), options, loaded=_remapped(nb201)).resumed == 0  # a journal of its own


def test_a_journal_of_the_format_before_archs_sha256_is_refused_not_orphaned(registered, nb201, tmp_path):
    """Journals keyed on the ids alone have another file name: a run must say so, not start afresh."""
    from suite.runner.journal import identity_key, plan_hash

    options = RunOptions(journal_dir=tmp_path, progress="none")
    journal = execute(_specs(), options, loaded=nb201).journal
    identity = json.loads(journal.read_text().splitlines()[0])["identity"]
    what = {k: identity[k] for k in ("benchmark", "seed", "sample", "estimators", "shard")}
    legacy_key = identity_key({**what, "subset_sha256": plan_hash(nb201.arch_ids.tolist())})
    legacy = journal.with_name(journal.name.replace(journal.stem.rsplit("_", 1)[1], legacy_key[:12]))
    journal.rename(legacy)
    with pytest.raises(JournalError, match=f"{legacy.name} holds this run's work in the journal format before "
                                           "archs_sha256.*or delete it to start afresh"):
        execute(_specs(), options, loaded=nb201)
    assert execute(_specs(), RunOptions(journal_dir=tmp_path, progress="none", restart=True), loaded=nb201).results


def test_merge_refuses_shards_of_the_format_before_archs_sha256(registered, nb201, tmp_path):
    journals = _shard_journals(nb201, tmp_path, 2)
    for path in journals:
        lines = path.read_text().splitlines(keepends=True)
        header = json.loads(lines[0])
        header["identity"]["subset_sha256"] = header["identity"].pop("archs_sha256")
        path.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    with pytest.raises(JournalError, match="written before journals recorded archs_sha256"):
        merge(journals, loaded=nb201)


def test_merge_refuses_an_unfinished_shard(registered, nb201, tmp_path):
    journals = _shard_journals(nb201, tmp_path, 2)
    lines = journals[1].read_text().splitlines(keepends=True)
    journals[1].write_text("".join(lines[:-4]))  # as if the shard had been killed
    with pytest.raises(JournalError, match=r"shard 1/2 is incomplete .*re-run that shard"):
        merge(journals, loaded=nb201)


def test_merge_refuses_a_whole_run_journal(registered, nb201, tmp_path):
    outcome = execute(_specs(), RunOptions(journal_dir=tmp_path, progress="none"), loaded=nb201)
    with pytest.raises(JournalError, match="not a shard journal"):
        merge([outcome.journal], loaded=nb201)


def test_cli_shards_then_merge(data_dir, tmp_path, capsys):
    common = ["-e", "params,flops", "-b", "nb201", "--sample", "40", "-q", "--data-dir", str(data_dir),
              "--out-dir", str(tmp_path)]
    for index in range(2):
        assert main(["run", *common, "--shard", f"{index}/2"]) == 0
        assert f"shard {index}/2:" in capsys.readouterr().err
    journals = sorted((tmp_path / ".journal").glob("*shard*of2*.jsonl"))
    assert len(journals) == 2
    assert main(["merge", *map(str, journals), "--data-dir", str(data_dir), "--out-dir", str(tmp_path)]) == 0
    merged = read_result(result_path(tmp_path / "nb201" / "flops"))
    assert len(merged.arch_ids) == 40 and merged.provenance["shards"] == 2
    capsys.readouterr()
    assert main(["merge", str(journals[0]), "--data-dir", str(data_dir), "--out-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "shard 1/2 is missing" in err and "\n" not in err


@settings(max_examples=60, deadline=None)
@given(count=st.integers(1, 64), sample=st.one_of(st.none(), st.integers(64, 2000)))
def test_shards_partition_the_run(nb201, count, sample):
    from suite.cli import parse_shard
    from suite.runner import _planned_ids

    whole = _planned_ids(nb201, sample, None).tolist()
    slices = [_planned_ids(nb201, sample, parse_shard(f"{i}/{count}")).tolist() for i in range(count)]
    assert sorted(i for s in slices for i in s) == sorted(whole)  # disjoint and covering
    assert max(map(len, slices)) - min(map(len, slices)) <= 1  # balanced
