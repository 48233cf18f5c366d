"""`suite verify` against a trusted signer who lies: each file below is built by the attack it names,
re-signed with a trusted key, and must be refused with a one-line error (each passed before the fix)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from suite import protocol
from suite.errors import SuiteError
from suite.keys import load_private_key
from suite.metrics import compute_criteria
from suite.results import ResultFile, decode_scores
from suite.signing import canonical_digest, sign_result
from suite.verify import CheckSkipped, Verifier

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def key(signing_key):
    return load_private_key(signing_key)


@pytest.fixture(scope="module")
def genuine(signed_file) -> dict:
    """The genuine result (params on a 40-architecture NB201 sample), as parsed JSON."""
    return json.loads(signed_file.read_text())["result"]


def _copy(result: dict) -> dict:
    return json.loads(json.dumps(result))


def _recompute(result: dict, loaded) -> dict:
    """Criteria of every snapshot recomputed from its scores, as a careful liar would."""
    gt = loaded.ground_truth(result["benchmark"]["ground_truth"])[loaded.positions(np.array(result["arch_ids"]))]
    for snap in result["snapshots"]:
        snap["criteria"]["values"] = compute_criteria(decode_scores(snap["scores"]), gt).values
    return result


def _signed(tmp_path: Path, result: dict, key) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(sign_result(ResultFile.model_validate(result), key)))
    return path


def _verdicts(report) -> dict[str, tuple[str, str]]:
    for check in report.checks:
        assert "\n" not in check.message and "Traceback" not in check.message
    return {c.name: (c.status, c.message) for c in report.checks}


def _as(result: dict, name: str, family: str, config: dict) -> dict:
    """The genuine file claimed as another installed estimator (no rerun: only the file is checked)."""
    result = _copy(result)
    result["estimator"].update(name=name, family=family, config=config)
    return result


# --- finding 1: a renamed or added snapshot dodged re-scoring


@pytest.mark.parametrize("edit", ["rename", "append"])
def test_a_renamed_or_added_snapshot_does_not_dodge_rerun(genuine, key, signers_file, data_dir, cache_dir, nb201,
                                                          tmp_path, edit):
    result = _copy(genuine)
    snap = result["snapshots"][0]
    snap["scores"] = decode_scores(snap["scores"])[::-1].tolist()  # fabricated
    if edit == "rename":
        snap["label"] = "final2"
    else:
        result["snapshots"].append({**_copy(snap), "label": "epoch-200"})
    path = _signed(tmp_path, _recompute(result, nb201), key)
    report = Verifier(signers_file, data_dir, cache_dir, rerun=5, rerun_seed=0).verify(path)
    verdicts = _verdicts(report)
    assert not report.ok
    assert verdicts["estimator"][0] == "fail" and "snapshot labels" in verdicts["estimator"][1]
    assert "params yields" in verdicts["estimator"][1]
    # rescore itself refuses the labels too (it is the last line of defence when called on its own)
    from suite.rerun import rescore

    with pytest.raises(SuiteError, match=r"snapshot labels .* are not \['final'\]"):
        rescore(ResultFile.model_validate(result), nb201, 5, seed=0, file_digest="d", data_dir=data_dir,
                cache_dir=cache_dir, rtol=1e-3)


def test_rescore_skips_only_estimators_whose_class_yields_training_snapshots(genuine, nb201, data_dir, cache_dir):
    from suite.registry import get_estimator_class
    from suite.rerun import rescore

    estimator = get_estimator_class("oneshot").for_space("nb201")
    result = _as(genuine, "oneshot", "one-shot", estimator.get_config())
    first = result["snapshots"][0]
    result["snapshots"] = [{**_copy(first), "label": label} for label in estimator.snapshots()]
    assert len(result["snapshots"]) > 1
    with pytest.raises(CheckSkipped, match="has training snapshots"):
        rescore(ResultFile.model_validate(result), nb201, 5, seed=0, file_digest="d", data_dir=data_dir,
                cache_dir=cache_dir, rtol=1e-3)


# --- finding 2: components instead of scores


def test_components_on_an_estimator_without_components_are_refused(genuine, key, signers_file, data_dir, cache_dir,
                                                                   nb201, tmp_path):
    """The genuine vector as a 'component', fabricated scores: rerun compared the component."""
    result = _copy(genuine)
    snap = result["snapshots"][0]
    snap["components"] = {"x": list(snap["scores"])}
    snap["scores"] = decode_scores(snap["scores"])[::-1].tolist()
    path = _signed(tmp_path, _recompute(result, nb201), key)
    report = Verifier(signers_file, data_dir, cache_dir, rerun=5, rerun_seed=0).verify(path)
    verdicts = _verdicts(report)
    assert not report.ok
    assert verdicts["estimator"] == ("fail", "snapshot 'final' has components ['x'], but this suite's params has none: "
                                             "its scores are the score; drop the components")
    from suite.rerun import rescore

    with pytest.raises(SuiteError, match="has components \\['x'\\], but this suite's params has none"):
        rescore(ResultFile.model_validate(result), nb201, 5, seed=0, file_digest="d", data_dir=data_dir,
                cache_dir=cache_dir, rtol=1e-3)


def test_rerun_compares_the_score_not_only_the_per_batch_values(genuine, nb201, data_dir, cache_dir):
    """Genuine per-batch values beside fabricated scores: rerun checked only the per-batch values
    (``metrics`` ties scores to their mean; rerun no longer relies on it)."""
    from suite.rerun import rescore

    result = _copy(genuine)
    snap = result["snapshots"][0]
    snap["per_batch"] = [list(snap["scores"])]
    snap["scores"] = (decode_scores(snap["scores"]) * 1.5 + 1).tolist()
    with pytest.raises(SuiteError, match="its score is"):
        rescore(ResultFile.model_validate(result), nb201, 5, seed=0, file_digest="d", data_dir=data_dir,
                cache_dir=cache_dir, rtol=1e-3)


@pytest.fixture(scope="module")
def vote_result() -> dict:
    [path] = sorted((ROOT / "submissions" / "nb201" / "vote").glob("*.json"))
    return json.loads(path.read_text())["result"]


def test_vote_scores_must_be_the_combination_of_its_components(vote_result, key, signers_file, data_dir, nb201,
                                                               tmp_path):
    verifier = Verifier(signers_file, data_dir)
    result = _copy(vote_result)
    scores = decode_scores(result["snapshots"][0]["scores"])
    i, j = int(np.argmin(scores)), int(np.argmax(scores))
    scores[i], scores[j] = scores[j], scores[i]  # the worst architecture promoted
    result["snapshots"][0]["scores"] = scores.tolist()
    report = verifier.verify(_signed(tmp_path, _recompute(result, nb201), key))
    assert not report.ok
    assert _verdicts(report)["estimator"] == (
        "fail", "snapshot 'final': scores are not this suite's vote combination of its components; "
                "re-sign the scores `suite run` computed")
    report = verifier.verify(_signed(tmp_path, _copy(vote_result), key))  # the genuine file, re-signed
    assert report.ok and "combination of the components in 1 snapshot" in _verdicts(report)["estimator"][1]


def test_verify_refuses_a_vote_whose_components_were_dropped(vote_result, key, signers_file, data_dir, nb201,
                                                             tmp_path):
    """A vote knows its space's measures once bound to the space, so the static checks (no rerun)
    refuse a vote file that dropped them: nothing else ties its scores to anything."""
    result = _copy(vote_result)
    result["snapshots"][0]["components"] = None
    report = Verifier(signers_file, data_dir).verify(_signed(tmp_path, _recompute(result, nb201), key))
    assert not report.ok
    assert _verdicts(report)["estimator"] == (
        "fail", "snapshot 'final' has components [], but this suite's vote combines ['jacob_cov', 'snip', 'synflow']")


def test_rerun_refuses_a_vote_whose_components_were_dropped(vote_result, nb201, data_dir, cache_dir):
    """Without components nothing ties a vote's scores to anything: rerun, like the static checks,
    asks for the components the estimator names for the space."""
    from suite.rerun import rescore

    result = _copy(vote_result)
    result["snapshots"][0]["components"] = None
    combines = r"has components \[\], this suite's vote combines \['jacob_cov', 'snip', 'synflow'\]"
    with pytest.raises(SuiteError, match=combines):
        rescore(ResultFile.model_validate(result), nb201, 1, seed=0, file_digest="d", data_dir=data_dir,
                cache_dir=cache_dir, rtol=1e-3)


# --- finding 3: any ground-truth column of the benchmark


def test_a_run_judged_on_another_ground_truth_column_is_refused(signers_file, data_dir, nb201, key, tmp_path):
    """The real attack: a genuine run with --gt (fingerprint, GT sha and criteria all consistent)."""
    from suite.signing import write_signed_result
    from suite.runner import RunOptions, RunSpec, execute

    [result] = execute([RunSpec("nb201", "params", sample=40, gt_column="cifar10_test_12")],
                       RunOptions(progress="none"), loaded=nb201).results
    path = write_signed_result(result, tmp_path / "gt12.json", key)
    report = Verifier(signers_file, data_dir).verify(path)
    assert not report.ok
    assert _verdicts(report)["protocol"] == (
        "fail", "benchmark.ground_truth 'cifar10_test_12' is not accepted for params on nb201: "
                "accepted 'cifar10_test_200'; re-run without --gt")


@pytest.mark.parametrize("preset, accepted", [("abdelfattah2021", True), ("study", False)])
def test_a_reproduction_preset_is_judged_on_its_reference_column(genuine, key, signers_file, data_dir, nb201, tmp_path,
                                                                  preset, accepted):
    column = "cifar10valid_test_200"
    result = _as(genuine, "synflow", "zero-shot", {"preset": preset})
    result["benchmark"]["ground_truth"] = column
    result["protocol"]["fingerprint"] = protocol.fingerprint("nb201", nb201.arch_ids.tolist(), column,
                                                             nb201.ground_truth(column).tolist())
    report = Verifier(signers_file, data_dir).verify(_signed(tmp_path, _recompute(result, nb201), key))
    verdicts = _verdicts(report)
    if accepted:
        assert report.ok, verdicts
    else:
        assert verdicts["protocol"] == ("fail", f"benchmark.ground_truth {column!r} is not accepted for synflow on "
                                                "nb201: accepted 'cifar10_test_200'; re-run without --gt")


# --- finding 4: the submitter chose the rerun sample; a declared environment widened the check


def test_the_rerun_draw_is_the_verifiers_and_reproducible(signed_file, signers_file, data_dir, cache_dir):
    from suite.rerun import sample_positions

    assert Verifier(signers_file, data_dir).rerun_seed != Verifier(signers_file, data_dir).rerun_seed  # secrets
    digest = "ab" * 32
    assert np.array_equal(sample_positions(40, 5, 1, digest), sample_positions(40, 5, 1, digest))
    assert not np.array_equal(sample_positions(40, 5, 1, digest), sample_positions(40, 5, 2, digest))
    report = Verifier(signers_file, data_dir, cache_dir, rerun=5).verify(signed_file)
    message = _verdicts(report)["rerun"][1]  # names the drawn seed, so a failure can be reproduced with it
    seed = int(message.split("rerun seed ")[1].split(")")[0])
    again = Verifier(signers_file, data_dir, cache_dir, rerun=5, rerun_seed=seed).verify(signed_file)
    assert _verdicts(again)["rerun"] == ("pass", message)


def _old_positions(digest: str, n: int, k: int) -> set[int]:
    """The draw before the fix: seeded by the file's digest alone."""
    rng = np.random.default_rng(int(hashlib.sha256(digest.encode()).hexdigest()[:16], 16))
    return set(rng.choice(n, size=min(k, n), replace=False).tolist())


def test_a_nonce_ground_against_the_digest_no_longer_steers_the_rerun(genuine, key, signers_file, data_dir, cache_dir,
                                                                      nb201, tmp_path):
    """Half the scores fabricated; a provenance nonce ground until the digest-seeded draw falls on
    the genuine half (about 32 tries). The verifier's own seed still finds a fabricated one."""
    result = _copy(genuine)
    snap = result["snapshots"][0]
    scores = decode_scores(snap["scores"])
    n = len(scores)
    genuine_positions = set(range(0, n, 2))
    scores[1::2] += 1.0  # fabricated: the odd positions
    snap["scores"] = scores.tolist()
    _recompute(result, nb201)
    for nonce in range(5000):
        result["provenance"]["nonce"] = nonce
        digest = canonical_digest(ResultFile.model_validate(result).model_dump(mode="json"))
        if _old_positions(digest, n, 5) <= genuine_positions:
            break
    else:
        pytest.fail("no nonce found")
    report = Verifier(signers_file, data_dir, cache_dir, rerun=5, rerun_seed=0).verify(_signed(tmp_path, result, key))
    status, message = _verdicts(report)["rerun"]
    assert status == "fail" and "the file says" in message


def test_a_declared_foreign_environment_does_not_let_a_file_break_ties(genuine, key, signers_file, data_dir, cache_dir,
                                                                       nb201, tmp_path):
    """Declaring a GPU widened the comparison to 1e-3 relative: enough to break a tie between two
    architectures (or swap near-equal ones). Params counts are exact now, whatever the file declares."""
    result = _copy(genuine)
    result["provenance"]["environment"]["device"] = "cuda"
    verifier = Verifier(signers_file, data_dir, cache_dir, rerun=len(result["arch_ids"]), rerun_seed=0)
    assert verifier.verify(_signed(tmp_path, result, key)).ok  # genuine values: same order
    snap = result["snapshots"][0]
    scores = decode_scores(snap["scores"])
    values, counts = np.unique(scores, return_counts=True)
    tied = np.flatnonzero(scores == values[np.argmax(counts)])
    assert counts.max() >= 2, "the sample should hold two architectures with equal params"
    scores[tied[0]] *= 1 + 1e-4  # within the tolerance, but now ranked above its twin
    snap["scores"] = scores.tolist()
    report = verifier.verify(_signed(tmp_path, _recompute(result, nb201), key))
    status, message = _verdicts(report)["rerun"]
    assert not report.ok and status == "fail" and f"architecture {result['arch_ids'][tied[0]]}: the file says" in message


# --- finding 5: seeds outside the protocol


def test_a_seed_outside_the_protocol_is_refused(genuine, key, signers_file, data_dir, tmp_path):
    result = _copy(genuine)
    result["seed"] = 7
    report = Verifier(signers_file, data_dir).verify(_signed(tmp_path, result, key))
    assert not report.ok
    assert _verdicts(report)["protocol"] == ("fail", "seed 7 is not a protocol seed; the leaderboard takes runs of "
                                                     "seeds 20, 2020, 202020 only: re-run with one of them")


# --- finding 7: family and config from the file


@pytest.mark.parametrize("name, family, config, fragment", [
    ("params", "zero-shot", {}, "estimator.family is 'zero-shot', but this suite's params is 'baseline'; "
                                "re-sign with family 'baseline'"),
    ("gt_noise_ceiling", "zero-shot", {}, "estimator.family is 'zero-shot', but this suite's gt_noise_ceiling is "
                                          "'reference'"),
    ("synflow", "zero-shot", {}, 'estimator.config {} is not as this suite\'s synflow resolves it: expected '
                                 '{"preset": "study"}'),
    ("synflow", "zero-shot", {"preset": "study", "x": 1}, "is not accepted by this suite's synflow"),
])
def test_family_and_config_must_be_the_installed_estimators(genuine, key, signers_file, data_dir, tmp_path, name,
                                                            family, config, fragment):
    report = Verifier(signers_file, data_dir).verify(_signed(tmp_path, _as(genuine, name, family, config), key))
    failed = [message for status, message in _verdicts(report).values() if status == "fail"]
    assert not report.ok and len(failed) == 1 and fragment in failed[0], failed


def test_the_resolved_spelling_of_a_config_passes(genuine, key, signers_file, data_dir, tmp_path):
    report = Verifier(signers_file, data_dir).verify(
        _signed(tmp_path, _as(genuine, "synflow", "zero-shot", {"preset": "study"}), key))
    assert report.ok and _verdicts(report)["estimator"][0] == "pass"


def test_an_estimator_not_installed_here_is_skipped_not_failed(genuine, key, signers_file, data_dir, tmp_path):
    report = Verifier(signers_file, data_dir).verify(
        _signed(tmp_path, _as(genuine, "somebody-elses", "zero-shot", {"a": 1}), key))
    assert report.ok and _verdicts(report)["estimator"][0] == "skip"


def test_an_estimator_that_does_not_apply_to_the_space_is_refused(genuine, key, signers_file, data_dir, tmp_path,
                                                                  monkeypatch):
    """`suite run` refuses an estimator on a space it does not support, so such a file was not written by it."""
    from suite.registry import get_estimator_class

    monkeypatch.setattr(get_estimator_class("params"), "supports", lambda self, space: space != "nb201")
    report = Verifier(signers_file, data_dir).verify(_signed(tmp_path, _copy(genuine), key))
    failed = [message for status, message in _verdicts(report).values() if status == "fail"]
    assert not report.ok and len(failed) == 1 and "params does not support the nb201 space" in failed[0], failed


def test_a_huge_declared_thread_count_is_clamped_to_the_cores(genuine, nb201, data_dir, cache_dir, monkeypatch):
    """provenance.threads is the file's word: the verifier never starts more threads than it has cores."""
    import os

    import torch

    from suite.rerun import rescore

    hostile = ResultFile.model_validate({**_copy(genuine), "provenance": {**genuine["provenance"], "threads": 10**6}})
    asked = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (asked.append(n), real(n)))
    message = rescore(hostile, nb201, 2, seed=1, file_digest="d", data_dir=data_dir, cache_dir=cache_dir, rtol=1e-3)
    assert asked[0] == (os.cpu_count() or 1) and "re-scored" in message


def test_rerun_refuses_a_provenance_of_the_wrong_type(genuine, nb201, data_dir, cache_dir):
    """The thread count and environment rerun reads are typed: a string for a number is one line naming it."""
    from suite.rerun import rescore

    hostile = ResultFile.model_validate({**_copy(genuine), "provenance": {**genuine["provenance"], "threads": "4"}})
    with pytest.raises(SuiteError, match="^field provenance.threads: "):
        rescore(hostile, nb201, 2, seed=1, file_digest="d", data_dir=data_dir, cache_dir=cache_dir, rtol=1e-3)
