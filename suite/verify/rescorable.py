"""The ``rescorable`` check: whether this suite can re-score a file's scores, or takes them on its word.

Scores computed by the installed code from the architecture alone (a deterministic estimator that
trains nothing) can be re-scored by anyone; scores that come from trained weights can be re-scored
only from those weights, which must lie beside the file with the content hashes the result signs
(:mod:`suite.weights`). Everything else is self-reported: the site says so
(:attr:`suite.verdict.Report.scores`).
"""

from __future__ import annotations

from pathlib import Path

from suite.errors import SuiteError
from suite.verdict import CheckSkipped
from suite.verify.state import FileState
from suite.weights import check_file, file_name, signed_weights, weights_dir, weights_key


def check_rescorable(state: FileState, path: Path) -> str:
    """``rescorable``: the installed estimator computes the scores from the code alone, or the
    trained weights they came from are beside ``path``, each with the content hash the result signs.

    Raises:
        CheckSkipped: the scores are self-reported (estimator not installed, not deterministic, or
            no weights beside the file).
        SuiteError: weights are beside the file but one is missing, malformed or not the signed one,
            or the result names no weights for one of its snapshots.
    """
    from suite.estimator import trains  # deferred: torch, so that verify (and the leaderboard) stay light

    name = state.result.estimator.name
    if state.estimator_ok is None:
        raise CheckSkipped(f"self-reported: estimator {name[:40]!r} is not installed here, so its scores cannot be "
                           "re-scored")
    if not state.estimator_ok:
        raise CheckSkipped("skipped: the estimator check did not pass")
    estimator = state.estimator
    if not type(estimator).deterministic:
        raise CheckSkipped(f"self-reported: {name} is not deterministic, so its scores cannot be re-scored")
    if not trains(estimator):
        return f"re-scorable: {name} computes its scores from the architectures alone"
    signed = signed_weights(state.result.provenance, name)
    directory = weights_dir(path)
    if not signed:
        raise CheckSkipped(f"self-reported: the file names no trained weights of {name} (provenance.data), so its "
                           "scores cannot be re-scored")
    if not directory.is_dir():
        raise CheckSkipped(f"self-reported: no trained weights beside the file ({directory.name}/), so its scores "
                           "cannot be re-scored")
    for snap in state.result.snapshots:
        key = weights_key(name, state.result.seed, snap.label)
        if key not in signed:
            raise SuiteError(f"the file names no weights for snapshot {snap.label[:20]!r} of seed {state.result.seed} "
                             f"({key[:80]} in provenance.data)")
    for key, sha256 in signed.items():
        check_file(directory / file_name(key, name), sha256)
    return f"re-scorable: the {len(signed)} trained weights file(s) in {directory.name}/ are the ones the result signs"
