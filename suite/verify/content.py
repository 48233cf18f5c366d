"""The checks of what a result says: schema, protocol, the estimator, coverage and the criteria.

Each check takes the state earlier checks of the file left, returns its one-line verdict, and
raises SuiteError (fail) or CheckSkipped (skip).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from suite import protocol
from suite.errors import SuiteError
from suite.keys import fold_confusables
from suite.metrics import compute_criteria
from suite.estimator import component_names, reference_gt_column, snapshot_labels
from suite.registry import build_estimator, get_estimator_class, list_estimators
from suite.results import decode_scores, validate_result
from suite.submission_layout import check_estimator_name
from suite.verdict import CheckSkipped
from suite.verify.state import FileState

#: Recomputed criteria must match the file's to this relative (and absolute) tolerance.
METRIC_RTOL, METRIC_ATOL = 1e-9, 1e-12


def check_schema(state: FileState) -> str:
    """``schema``: the result follows the result schema, vectors aligned with ``arch_ids``."""
    state.result = validate_result(state.raw["result"], "result")
    # The digest covers the JSON as written; what the suite uses is the parsed model. They must
    # be the same value ("20" for 20, or a bool for a number, would verify as one and count as the other).
    dumped = state.result.model_dump(mode="json")
    fast = json.dumps(state.raw["result"], sort_keys=True) == json.dumps(dumped, sort_keys=True)  # C encoder
    if not fast and not same_json_value(state.raw["result"], dumped):
        raise SuiteError("a field holds a value of the wrong JSON type (e.g. a string for a number); "
                         "the suite writes every field in its schema type")
    return f"schema {state.result.schema_version}: {len(state.result.arch_ids)} architectures, {len(state.result.snapshots)} snapshot(s)"


def check_protocol(state: FileState, load_benchmark: Callable[[str], Any]) -> str:
    """``protocol``: version and fingerprint are the installed suite's for this benchmark, ground-truth
    column and data; the seed is a protocol seed; the ground-truth column is accepted."""
    result = state.result
    if result.protocol.version != protocol.PROTOCOL_VERSION:
        raise SuiteError(f"protocol version {result.protocol.version[:20]!r} is not this suite's "
                         f"{protocol.PROTOCOL_VERSION!r}; re-run under the current protocol")
    benchmark = state.benchmark = load_benchmark(result.benchmark.name)
    if result.benchmark.ground_truth_sha256 != benchmark.gt_sha256:
        raise SuiteError(f"ground truth sha256 {result.benchmark.ground_truth_sha256[:12]}... differs from this "
                         f"suite's {benchmark.gt_sha256[:12]}...")
    policies = {s.criteria.nonfinite_policy for s in result.snapshots}
    if policies != {"worst"}:
        raise SuiteError("the protocol ranks non-finite scores last (--nonfinite worst); "
                         "results computed with 'drop' are for analysis, not the leaderboard")
    if result.seed not in protocol.SEEDS:
        raise SuiteError(f"seed {result.seed} is not a protocol seed; the leaderboard takes runs of seeds "
                         f"{', '.join(map(str, protocol.SEEDS))} only: re-run with one of them")
    column = result.benchmark.ground_truth
    _check_gt_column(state, column)
    gt = benchmark.ground_truth(column)
    expected = protocol.fingerprint(benchmark.name, benchmark.arch_ids.tolist(), column, gt.tolist())
    if result.protocol.fingerprint != expected:
        raise SuiteError(f"protocol fingerprint {result.protocol.fingerprint[:12]}... is not this suite's "
                         f"{expected[:12]}... for {benchmark.name}/{column}")
    return f"protocol {result.protocol.version}, fingerprint {expected[:12]}... ({benchmark.name}, GT {column})"


def _check_gt_column(state: FileState, column: str) -> None:
    """The ground-truth column is the benchmark's protocol column, or the column the installed
    estimator's config was published against (``reference_gt_column``): a run may not pick
    whichever of the benchmark's columns suits it and be ranked with the others."""
    spec = state.benchmark.spec
    accepted = [spec.default_gt_column]
    if column != spec.default_gt_column:
        estimator = installed_estimator(state)
        reference = reference_gt_column(estimator) if estimator is not None else None
        if reference:
            accepted.append(reference)
    if column not in accepted:
        name = state.result.estimator.name[:40]
        raise SuiteError(f"benchmark.ground_truth {column[:40]!r} is not accepted for {name} on {spec.name}: "
                         f"accepted {' or '.join(map(repr, accepted))}; re-run without --gt")


def installed_estimator(state: FileState):
    """The installed estimator of the file's name, built from the file's config and bound to the
    benchmark's space; None when no estimator of that name is installed here.

    Raises SuiteError when the installed estimator refuses the file's config."""
    if state.estimator_looked_up:
        return state.estimator
    info = state.result.estimator
    try:
        get_estimator_class(info.name)
    except SuiteError:
        state.estimator_looked_up = True
        return None
    try:
        estimator = build_estimator(info.name, info.config, state.benchmark.spec.space.name, require_support=False)
    except Exception as exc:  # noqa: BLE001 - any refusal of a hostile config is a one-line failure
        raise SuiteError(f"estimator.config {_short(info.config)} is not accepted by this suite's "
                         f"{info.name}: {exc}") from None
    state.estimator, state.estimator_looked_up = estimator, True
    return estimator


def check_estimator(state: FileState) -> str:
    """``estimator``: the name is plain ASCII and no look-alike of an installed estimator's; the file
    describes the installed estimator as it runs: same family and
    deterministic flag, the config as the estimator resolves it (one run has one spelling), its
    snapshot labels, and components exactly when it combines them, with scores equal to its
    combination of them."""
    state.estimator_ok = False
    info = state.result.estimator
    check_estimator_name(info.name)
    estimator = installed_estimator(state)
    if estimator is None:
        lookalike = [c.name for c in list_estimators() if fold_confusables(c.name) == fold_confusables(info.name)]
        if lookalike:
            raise SuiteError(f"estimator name {info.name!r} reads as this suite's {lookalike[0]!r} but is not it: "
                             f"a result of {lookalike[0]} is signed under its own name; pick a name of your own")
        state.estimator_ok = None
        raise CheckSkipped(f"skipped: estimator {info.name[:40]!r} is not installed here, so its family, "
                           "config and snapshots are not checked")
    cls = type(estimator)
    space = state.benchmark.spec.space.name
    if not estimator.supports(space):
        raise SuiteError(f"this suite's {cls.name} does not support the {space} space of "
                         f"{state.benchmark.spec.name}, so `suite run` cannot have written this file")
    if info.family != cls.family:
        raise SuiteError(f"estimator.family is {info.family[:20]!r}, but this suite's {cls.name} is "
                         f"{cls.family!r}; re-sign with family {cls.family!r}")
    if info.deterministic != cls.deterministic:
        raise SuiteError(f"estimator.deterministic is {info.deterministic}, but this suite's {cls.name} "
                         f"declares {cls.deterministic}")
    resolved = json.loads(json.dumps(estimator.get_config()))
    if not same_json_value(info.config, resolved):
        raise SuiteError(f"estimator.config {_short(info.config)} is not as this suite's {cls.name} resolves it: "
                         f"expected {_short(resolved)} (as `suite run` records it)")
    labels, expected = [s.label for s in state.result.snapshots], snapshot_labels(estimator)
    if labels != expected:
        shown = _short([label[:20] for label in labels][:4])
        raise SuiteError(f"snapshot labels {shown} are not {_short(expected)}, the snapshots this suite's "
                         f"{cls.name} yields")
    combined = sum(_check_combination(snap, estimator, space) for snap in state.result.snapshots)
    state.estimator_ok = True
    note = f"; scores are the combination of the components in {combined} snapshot(s)" if combined else ""
    return f"{cls.name}: family, config and snapshot labels are the installed estimator's{note}"


def _check_combination(snap, estimator, space: str) -> bool:
    """Components only where the installed estimator combines them (it overrides ``combine``), and
    then present when it names them, and the scores equal ``combine`` of them over the whole
    snapshot (exactly; NaN equals NaN). Returns whether the snapshot's scores were checked so.

    The component order is the estimator's when it names them before ``prepare``, the file's
    otherwise (``rerun`` then checks the names against the prepared estimator's)."""
    combines = estimator.capabilities.components
    names = component_names(estimator, space) if combines else ()
    label = snap.label[:20]
    if snap.components and not combines:
        raise SuiteError(f"snapshot {label!r} has components {_names(snap.components)}, but this suite's "
                         f"{estimator.name} has none: its scores are the score; drop the components")
    if not combines or (not snap.components and not names):
        return False
    if set(names or snap.components) != set(snap.components or {}):
        raise SuiteError(f"snapshot {label!r} has components {_names(snap.components or {})}, but this suite's "
                         f"{estimator.name} combines {list(names)}")
    values = np.stack([decode_scores(snap.components[name]) for name in names or tuple(snap.components)], axis=1)
    combined = np.asarray(estimator.combine(values), dtype=np.float64)
    scores = decode_scores(snap.scores)
    if combined.shape != scores.shape or not np.array_equal(combined, scores, equal_nan=True):
        raise SuiteError(f"snapshot {label!r}: scores are not this suite's {estimator.name} combination of its "
                         "components; re-sign the scores `suite run` computed")
    return True


def check_coverage(state: FileState) -> str:
    """``coverage``: scored plus failed architectures are exactly the subset (or the declared seeded sample)."""
    result, benchmark = state.result, state.benchmark
    info = result.benchmark
    if info.subset_size != len(benchmark.arch_ids):
        raise SuiteError(f"subset_size {info.subset_size} is not {benchmark.name}'s {len(benchmark.arch_ids)}")
    if info.complete != (info.sample is None):
        raise SuiteError("benchmark.complete must be true exactly when no sample is declared")
    if info.sample is None:
        expected = set(benchmark.arch_ids.tolist())
    else:
        if set(info.sample) != {"n", "seed"} or info.sample["seed"] != protocol.SAMPLE_SEED:
            raise SuiteError(f"sample must be {{n, seed: {protocol.SAMPLE_SEED}}}, the protocol's sample seed")
        expected = set(benchmark.sample_ids(info.sample["n"], protocol.SAMPLE_SEED).tolist())
    scored = list(result.arch_ids)
    failed = [f.arch_id for f in result.failures]
    if len(set(scored)) != len(scored) or len(set(failed)) != len(failed) or set(failed) & set(scored):
        raise SuiteError("an architecture is listed twice among the scored and failed ones")
    covered = set(scored) | set(failed)
    if covered != expected:
        extra, missing = covered - expected, expected - covered
        what = (f"{len(missing)} architectures of the {'subset' if info.sample is None else 'sample'} are missing "
                f"(e.g. {min(missing)})") if missing else f"architecture {min(extra)} is not in the declared set"
        raise SuiteError(what)
    for snap in result.snapshots:
        if snap.criteria.n_failed != len(failed):
            raise SuiteError(f"snapshot {snap.label!r} says n_failed = {snap.criteria.n_failed}, but {len(failed)} failures are listed")
    return f"{len(scored)} scored + {len(failed)} failed = the {'subset' if info.sample is None else 'declared sample'}"


def check_metrics(state: FileState) -> str:
    """``metrics``: every criterion recomputed from the scores and the suite's ground truth matches."""
    result, benchmark = state.result, state.benchmark
    ids = np.array(result.arch_ids, dtype=np.int64)
    gt = benchmark.ground_truth(result.benchmark.ground_truth)[benchmark.positions(ids)]
    checked = 0
    for snap in result.snapshots:
        scores = decode_scores(snap.scores)
        if snap.per_batch:
            mean = np.stack([decode_scores(v) for v in snap.per_batch], axis=1).mean(axis=1)
            if not np.allclose(mean, scores, rtol=METRIC_RTOL, atol=METRIC_ATOL, equal_nan=True):
                raise SuiteError(f"snapshot {snap.label!r}: scores are not the mean of per_batch")
        recomputed = compute_criteria(scores, gt, nonfinite=snap.criteria.nonfinite_policy)
        if (recomputed.n, recomputed.n_nonfinite) != (snap.criteria.n, snap.criteria.n_nonfinite):
            raise SuiteError(f"snapshot {snap.label!r}: n = {snap.criteria.n}, n_nonfinite = {snap.criteria.n_nonfinite} "
                             f"in the file, {recomputed.n}, {recomputed.n_nonfinite} recomputed")
        if set(recomputed.values) != set(snap.criteria.values):
            missing = min(set(recomputed.values) ^ set(snap.criteria.values))
            raise SuiteError(f"snapshot {snap.label!r}: criterion {missing[:40]!r} is missing or unknown")
        for name, value in recomputed.values.items():
            claimed = snap.criteria.values[name]
            if not _same(claimed, value):
                raise SuiteError(f"snapshot {snap.label!r}: {name} is {claimed} in the file, {value} recomputed "
                                 "from its scores and the suite's ground truth")
            checked += 1
    return f"{checked} criteria recomputed from the scores match"


def same_json_value(a: Any, b: Any) -> bool:
    """Whether two parsed JSON values have the same RFC 8785 canonical form, without serialising:
    equal structure, equal strings, booleans only equal to booleans, numbers equal as doubles
    (so 64 and 64.0 are the same value, as in JCS, and "20" is not 20)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b) or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _names(components: dict[str, Any]) -> list[str]:
    """The first few component names, each cut short, for a one-line message."""
    return [name[:20] for name in sorted(components)[:4]]


def _short(value: Any) -> str:
    """A value as compact JSON of at most 120 characters, for a one-line message."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _same(claimed: float | None, value: float | None) -> bool:
    if claimed is None or value is None:
        return claimed is None and value is None
    if math.isnan(claimed) or math.isnan(value):
        return math.isnan(claimed) and math.isnan(value)
    return math.isclose(claimed, value, rel_tol=METRIC_RTOL, abs_tol=METRIC_ATOL)
