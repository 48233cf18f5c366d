"""Running estimators on a benchmark under the protocol, resumably: spec -> plan -> journal -> executors -> results.

Modules, one job each: :mod:`~suite.runner.spec` (what a run is asked), :mod:`~suite.runner.plan`
(the resolved, picklable plan), :mod:`~suite.runner.resolve` (specs -> plan),
:mod:`~suite.runner.estimators` (the one place estimators are built), :mod:`~suite.runner.identity`
(journal header and path), :mod:`~suite.runner.journal` (the journal file),
:mod:`~suite.runner.journal_records` (the type of each journal record),
:mod:`~suite.runner.scoring` (failure-isolated scoring of a chunk), :mod:`~suite.runner.executors`
(local and Ray), :mod:`~suite.runner.driver` (a run end to end), :mod:`~suite.runner.build`
(result files), :mod:`~suite.runner.export` (trained weights beside them), :mod:`~suite.runner.shards`
(merging shards).
"""

from suite.runner.build import build_results
from suite.runner.driver import (
    CHUNK,
    MAX_DEATHS,
    SYSTEMATIC_FAILURES,
    Interrupted,
    RunOutcome,
    execute,
    run,
    run_many,
)
from suite.registry import build_estimator
from suite.runner.estimators import build_estimators
from suite.runner.export import export_weights
from suite.runner.identity import archs_hash, work_dir
from suite.runner.plan import EstimatorPlan, RunPlan
from suite.runner.resolve import planned_ids, resolve_device
from suite.runner.resolve import planned_ids as _planned_ids  # the name tests import
from suite.runner.shards import merge
from suite.runner.spec import RunOptions, RunSpec

