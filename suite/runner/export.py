"""Writing a run's trained weights beside its result file, so that ``suite verify --rerun`` can
re-score from them (:mod:`suite.weights` describes the files)."""

from __future__ import annotations

import shutil
from pathlib import Path

from suite.estimator import trains
from suite.runner.driver import RunOutcome
from suite.runner.executors import run_context
from suite.weights import WeightsError, file_name, save_weights, signed_weights, weights_dir


def export_weights(outcome: RunOutcome, index: int, result_path: Path) -> Path | None:
    """Write the weights of the outcome's ``index``-th result beside ``result_path`` (one safetensors
    file per ``<estimator>_weights:...`` key its provenance signs), replacing earlier ones; None when
    its estimator trains nothing.

    Each file's content hash must be the one the result signs (the weights that were scored). An
    estimator this invocation did not prepare (every architecture was scored before it resumed) is
    prepared first: its training resumes from the cache, where a finished one is found at once.

    Raises:
        WeightsError: the result signs no weights, or other ones than the estimator holds (retrained
            since); nothing is left beside the result then.
    """
    estimator, result = outcome.estimators[index], outcome.results[index]
    if not trains(estimator):
        return None
    signed = signed_weights(result.provenance, estimator.name)
    if not signed:
        raise WeightsError(f"the {estimator.name} result names no trained weights in provenance.data")
    if not outcome.prepared:
        estimator.prepare(run_context(outcome.plan))
    target = weights_dir(result_path)
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    written = set()
    try:
        for key, state in estimator.trained_weights():
            if key not in signed:
                raise WeightsError(f"{estimator.name} holds weights {key[:80]!r} that the result does not name")
            sha256 = save_weights(state, partial / file_name(key, estimator.name))
            if sha256 != signed[key]:
                raise WeightsError(f"the weights of {key[:80]} (sha256 {sha256[:16]}...) are not those the result "
                                   f"was scored with ({signed[key][:16]}...): the training changed since")
            written.add(key)
        missing = sorted(set(signed) - written)
        if missing:
            raise WeightsError(f"{estimator.name} holds no weights for {missing[0][:80]}, which the result names")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target
