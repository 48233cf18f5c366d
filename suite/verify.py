"""``suite verify``: small independent checks of a signed result file, each with a one-line verdict.

Checks, in order (a check whose inputs failed is skipped, saying why):

``file``      readable JSON within the size limit
``envelope``  a signed result file: media type, DSSE envelope, in-toto Statement v1 payload
``schema``    the result follows the result schema, vectors aligned with ``arch_ids``
``digest``    the statement's subject is the sha256 of the result's RFC 8785 canonical JSON, and its
              predicate names the same benchmark, estimator, config, seed and protocol
``signature`` an Ed25519 signature over the envelope verifies under a trusted signer's key
``protocol``  the protocol version and fingerprint equal the installed suite's for this benchmark,
              ground-truth column and data; the seed is a protocol seed; the ground-truth column is
              the benchmark's protocol column (or the installed estimator's reference column)
``estimator`` (installed estimators) family, deterministic flag, resolved config and snapshot
              labels are the installed class's; components only where it combines them, and the
              scores are its combination of them
``coverage``  scored plus failed architectures are exactly the subset (or the declared seeded sample)
``metrics``   every criterion recomputed from the scores and the suite's ground truth matches
``rerun``     (``--rerun K``) K architectures, drawn with a seed the verifier picks (and reports),
              re-scored here match the file (deterministic estimators)
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from suite import protocol
from suite.errors import SuiteError
from suite.metrics import compute_criteria
from suite.results import (
    ResultFile,
    decode_scores,
    is_signed,
    load_json_file,
    validate_result,
)

Status = Literal["pass", "fail", "skip"]
#: Recomputed criteria must match the file's to this relative (and absolute) tolerance.
METRIC_RTOL, METRIC_ATOL = 1e-9, 1e-12
#: Re-scored values must match to this relative tolerance when the environment differs from the
#: file's (torch version, thread count, device): CPU kernels round differently (measured up to 1.2e-4).
RERUN_RTOL = 1e-3


@dataclass
class Check:
    name: str
    status: Status
    message: str


@dataclass
class Report:
    """The verdict on one file."""

    path: str
    checks: list[Check] = field(default_factory=list)
    signer: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks) and any(c.name == "signature" and c.status == "pass"
                                                                     for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "signer": self.signer,
                "checks": [{"name": c.name, "status": c.status, "message": c.message} for c in self.checks]}


@dataclass
class _State:
    """What earlier checks of one file found, for the later ones."""

    data: bytes | None = None
    raw: Any = None
    envelope: Any = None
    statement: dict[str, Any] | None = None
    result: ResultFile | None = None
    digest: str | None = None
    benchmark: Any = None
    estimator: Any = None  # the installed estimator, bound to the benchmark's space (once looked up)
    estimator_looked_up: bool = False  # whether ``estimator`` was looked up (None then: not installed)
    estimator_ok: bool | None = None  # the estimator check: passed, failed (False) or skipped (None)


class Verifier:
    """Verifies files against trusted signers and the suite's data.

    Args:
        signers_path: the ``allowed_signers`` file.
        data_dir, cache_dir: the suite's data (ground truth; CIFAR-10 for ``rerun``).
        rerun: architectures to re-score per file (0: none).
        rerun_seed: seed of the draw of those architectures (mixed with each file's digest); None
            draws one from :mod:`secrets`, so a submitter cannot know it when signing. Each rerun
            verdict names it: passing it again reproduces the draw.
    """

    def __init__(self, signers_path: Path, data_dir: Path | None, cache_dir: Path | None = None, rerun: int = 0,
                 extra_signers: list | None = None, require_rerun: bool = False, rerun_seed: int | None = None) -> None:
        self.signers_path, self.data_dir, self.cache_dir, self.rerun = signers_path, data_dir, cache_dir, rerun
        self.rerun_seed = secrets.randbits(63) if rerun_seed is None else int(rerun_seed)
        self.require_rerun = require_rerun  # an estimator not installed here fails instead of skipping
        self.extra_signers = list(extra_signers or [])  # accepted, but reported as not yet trusted (suite submit)
        self.signed_by_extra = False
        self._signers: Any = None
        self._last_result: ResultFile | None = None
        self._benchmarks: dict[str, Any] = {}

    def verify(self, path: str | Path, data: bytes | None = None) -> Report:
        """Run every check on ``path`` (or on ``data``, its bytes already read); never raises for a
        bad file: the report says what is wrong."""
        report = Report(path=str(path))
        state = _State(data=data)
        # What costs work (loading the benchmark, recomputing criteria, running the estimator)
        # happens only for files whose digest and signature hold.
        signed = ("digest", "signature")
        steps: list[tuple[str, Callable[[Path, _State], str], tuple[str, ...]]] = [
            ("file", self._file, ()),
            ("envelope", self._envelope, ("file",)),
            ("schema", self._schema, ("envelope",)),
            ("digest", self._digest, ("schema",)),
            ("signature", self._signature, ("envelope",)),
            ("protocol", self._protocol, ("schema", *signed)),
            ("estimator", self._estimator, ("protocol",)),
            ("coverage", self._coverage, ("protocol",)),
            ("metrics", self._metrics, ("protocol",)),
        ]
        if self.rerun:
            steps.append(("rerun", self._rerun, ("metrics", "coverage")))
        passed: set[str] = set()
        for name, func, needs in steps:
            missing = [n for n in needs if n not in passed]
            if missing:
                report.checks.append(Check(name, "skip", f"skipped: the {missing[0]} check did not pass"))
                continue
            try:
                message = func(Path(path), state)
            except CheckSkipped as skip:
                report.checks.append(Check(name, "skip", _line(str(skip))))
                continue
            except SuiteError as exc:
                report.checks.append(Check(name, "fail", _line(str(exc))))
                continue
            except Exception as exc:  # noqa: BLE001 - a hostile file must never stop verification of the others
                report.checks.append(Check(name, "fail", _line(f"cannot check ({type(exc).__name__}: {exc})")))
                continue
            passed.add(name)
            report.checks.append(Check(name, "pass", _line(message)))
            if name == "signature":
                report.signer = message.split()[2]
        return report

    def verify_many(self, files: list[Path], layout_root: Path | None = None) -> list[Report]:
        """Verify each file, then across files: each run appears once, and (with ``layout_root``)
        sits at its stable submission path under it."""
        from suite.submit import run_identity, submission_path

        reports, seen = [], {}
        for path in files:
            state_report = self.verify(path)
            reports.append(state_report)
            result = self._last_result
            if result is None or not state_report.ok:
                continue
            identity = run_identity(result)
            if identity in seen:
                state_report.checks.append(Check("unique", "fail", f"the same run as {seen[identity]}: "
                                                 "each (benchmark, estimator, config, seed, sample) counts once"))
                continue
            seen[identity] = path
            if layout_root is not None:
                try:
                    expected = submission_path(result, layout_root)
                except SuiteError as exc:
                    state_report.checks.append(Check("layout", "fail", _line(str(exc))))
                    continue
                if Path(path).resolve() != expected.resolve():
                    state_report.checks.append(Check("layout", "fail", f"belongs at {expected} (`suite submit` places it)"))
                    continue
                state_report.checks.append(Check("layout", "pass", "at its stable submission path"))
        return reports

    # --- the checks: each returns its one-line verdict or raises SuiteError / _Skip

    def _file(self, path: Path, state: _State) -> str:
        from suite.results import parse_json_bytes

        self._last_result = None
        if state.data is not None:
            state.raw = parse_json_bytes(state.data, path)
        elif path.is_symlink():
            raise SuiteError("is a symbolic link; a result must be a regular file")
        else:
            state.raw = load_json_file(path)
        return "readable JSON"

    def _envelope(self, path: Path, state: _State) -> str:
        from suite.signing import MEDIA_TYPE, parse_envelope, parse_statement

        raw = state.raw
        if not is_signed(raw):
            raise SuiteError("not a signed result file (no dsseEnvelope beside the result); sign it by writing it with `suite run`")
        if raw.get("mediaType") != MEDIA_TYPE:
            raise SuiteError(f"mediaType is {str(raw.get('mediaType'))[:80]!r}, expected {MEDIA_TYPE!r}")
        extra = sorted(set(raw) - {"mediaType", "result", "dsseEnvelope"})
        if extra:
            raise SuiteError(f"unexpected top-level field {str(extra[0])[:40]!r} in a signed result file")
        state.envelope = parse_envelope(raw["dsseEnvelope"])
        state.statement = parse_statement(state.envelope)
        return "DSSE envelope with an in-toto Statement v1"

    def _schema(self, path: Path, state: _State) -> str:
        state.result = validate_result(state.raw["result"], "result")
        # The digest covers the JSON as written; what the suite uses is the parsed model. They must
        # be the same value ("20" for 20, or a bool for a number, would verify as one and count as the other).
        dumped = state.result.model_dump(mode="json")
        fast = json.dumps(state.raw["result"], sort_keys=True) == json.dumps(dumped, sort_keys=True)  # C encoder
        if not fast and not same_json_value(state.raw["result"], dumped):
            raise SuiteError("a field holds a value of the wrong JSON type (e.g. a string for a number); "
                             "the suite writes every field in its schema type")
        self._last_result = state.result
        return f"schema {state.result.schema_version}: {len(state.result.arch_ids)} architectures, {len(state.result.snapshots)} snapshot(s)"

    def _digest(self, path: Path, state: _State) -> str:
        from suite.signing import canonical_digest

        state.digest = canonical_digest(state.raw["result"])
        subject = state.statement["subject"][0]["digest"]["sha256"]
        if subject != state.digest:
            raise SuiteError(f"the result's sha256 {state.digest[:16]}... is not the signed subject {subject[:16]}...: "
                             "the result was changed after signing")
        predicate, result = state.statement["predicate"], state.result
        expected = {
            "benchmark": result.benchmark.name, "seed": result.seed,
            "estimator": {"name": result.estimator.name, "family": result.estimator.family, "config": result.estimator.config},
            "protocol": {"version": result.protocol.version, "fingerprint": result.protocol.fingerprint},
        }
        for key, value in expected.items():
            if predicate.get(key) != value:
                raise SuiteError(f"the signed statement's {key} differs from the result's")
        return f"subject sha256 {state.digest[:16]}... matches the canonical result"

    def _signature(self, path: Path, state: _State) -> str:
        from suite.keys import load_signers
        from suite.signing import verify_envelope

        if self._signers is None:
            try:
                self._signers = load_signers(self.signers_path)
            except SuiteError as exc:
                self._signers = exc
        trusted = [] if isinstance(self._signers, SuiteError) else self._signers
        if isinstance(self._signers, SuiteError) and not self.extra_signers:
            raise self._signers
        trusted_ids = {s.key_id for s in trusted}
        extra = [s for s in self.extra_signers if s.key_id not in trusted_ids]
        signer = verify_envelope(state.envelope, trusted + extra)
        if signer in extra:
            self.signed_by_extra = True
            return f"signed by {signer.principal} ({signer.key_id}), a key not yet in allowed_signers"
        return f"signed by {signer.principal} ({signer.key_id})"

    def _load_benchmark(self, name: str):
        from suite.benchmarks import get_benchmark

        if name not in self._benchmarks:
            self._benchmarks[name] = get_benchmark(name).load(self.data_dir)
        return self._benchmarks[name]

    def _protocol(self, path: Path, state: _State) -> str:
        result = state.result
        if result.protocol.version != protocol.PROTOCOL_VERSION:
            raise SuiteError(f"protocol version {result.protocol.version[:20]!r} is not this suite's "
                             f"{protocol.PROTOCOL_VERSION!r}; re-run under the current protocol")
        benchmark = state.benchmark = self._load_benchmark(result.benchmark.name)
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
        self._check_gt_column(state, column)
        gt = benchmark.ground_truth(column)
        expected = protocol.fingerprint(benchmark.name, benchmark.arch_ids.tolist(), column, gt.tolist())
        if result.protocol.fingerprint != expected:
            raise SuiteError(f"protocol fingerprint {result.protocol.fingerprint[:12]}... is not this suite's "
                             f"{expected[:12]}... for {benchmark.name}/{column}")
        return f"protocol {result.protocol.version}, fingerprint {expected[:12]}... ({benchmark.name}, GT {column})"

    def _check_gt_column(self, state: _State, column: str) -> None:
        """The ground-truth column is the benchmark's protocol column, or the column the installed
        estimator's config was published against (``reference_gt_column``): a run may not pick
        whichever of the benchmark's columns suits it and be ranked with the others."""
        spec = state.benchmark.spec
        accepted = [spec.default_gt_column]
        if column != spec.default_gt_column:
            estimator = self._installed(state)
            from suite.estimator import reference_gt_column  # deferred: torch, so that the leaderboard imports none

            reference = reference_gt_column(estimator) if estimator is not None else None
            if reference:
                accepted.append(reference)
        if column not in accepted:
            name = state.result.estimator.name[:40]
            raise SuiteError(f"benchmark.ground_truth {column[:40]!r} is not accepted for {name} on {spec.name}: "
                             f"accepted {' or '.join(map(repr, accepted))}; re-run without --gt")

    def _installed(self, state: _State):
        """The installed estimator of the file's name, built from the file's config and bound to the
        benchmark's space; None when no estimator of that name is installed here.

        Raises SuiteError when the installed estimator refuses the file's config."""
        from suite.registry import get_estimator_class

        if state.estimator_looked_up:
            return state.estimator
        info = state.result.estimator
        try:
            cls = get_estimator_class(info.name)
        except SuiteError:
            state.estimator_looked_up = True
            return None
        try:
            estimator = cls.for_space(state.benchmark.spec.space.name, info.config)
        except Exception as exc:  # noqa: BLE001 - any refusal of a hostile config is a one-line failure
            raise SuiteError(f"estimator.config {_short(info.config)} is not accepted by this suite's "
                             f"{info.name}: {exc}") from None
        state.estimator, state.estimator_looked_up = estimator, True
        return estimator

    def _estimator(self, path: Path, state: _State) -> str:
        """The file describes the installed estimator as it runs: same family and deterministic flag,
        the config as the estimator resolves it (one run has one spelling), its snapshot labels, and
        components exactly when it combines them, with scores equal to its combination of them."""
        state.estimator_ok = False
        estimator, info = self._installed(state), state.result.estimator
        if estimator is None:
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
        from suite.estimator import snapshot_labels  # deferred: torch, so that the leaderboard imports none

        labels, expected = [s.label for s in state.result.snapshots], snapshot_labels(estimator)
        if labels != expected:
            shown = _short([label[:20] for label in labels][:4])
            raise SuiteError(f"snapshot labels {shown} are not {_short(expected)}, the snapshots this suite's "
                             f"{cls.name} yields")
        combined = sum(_check_combination(snap, estimator, space) for snap in state.result.snapshots)
        state.estimator_ok = True
        note = f"; scores are the combination of the components in {combined} snapshot(s)" if combined else ""
        return f"{cls.name}: family, config and snapshot labels are the installed estimator's{note}"

    def _coverage(self, path: Path, state: _State) -> str:
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

    def _metrics(self, path: Path, state: _State) -> str:
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

    def _rerun(self, path: Path, state: _State) -> str:
        from suite.rerun import rescore

        if state.estimator_ok is False:
            raise CheckSkipped("skipped: the estimator check did not pass")
        return rescore(state.result, state.benchmark, self.rerun, seed=self.rerun_seed, file_digest=state.digest or "",
                       data_dir=self.data_dir, cache_dir=self.cache_dir, rtol=RERUN_RTOL,
                       require_installed=self.require_rerun)


class CheckSkipped(Exception):
    """A check that does not apply (e.g. rerun of a non-deterministic estimator)."""


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


def _check_combination(snap, estimator, space: str) -> bool:
    """Components only where the installed estimator combines them (it declares ``components``), and
    then present when it names them, and the scores equal ``combine`` of them over the whole
    snapshot (exactly; NaN equals NaN). Returns whether the snapshot's scores were checked so.

    The component order is the estimator's when it names them before ``prepare``, the file's
    otherwise (``rerun`` then checks the names against the prepared estimator's)."""
    from suite.estimator import component_names  # deferred: torch, so that the leaderboard imports none

    combines = estimator.capabilities.components
    names = component_names(estimator, space)
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


def _names(components: dict[str, Any]) -> list[str]:
    """The first few component names, each cut short, for a one-line message."""
    return [name[:20] for name in sorted(components)[:4]]


def _short(value: Any) -> str:
    """A value as compact JSON of at most 120 characters, for a one-line message."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _line(text: str) -> str:
    """One printable line: the first line, at most 400 characters, undecodable characters escaped."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:400].encode("utf-8", "backslashreplace").decode("utf-8")


def _same(claimed: float | None, value: float | None) -> bool:
    if claimed is None or value is None:
        return claimed is None and value is None
    if math.isnan(claimed) or math.isnan(value):
        return math.isnan(claimed) and math.isnan(value)
    return math.isclose(claimed, value, rel_tol=METRIC_RTOL, abs_tol=METRIC_ATOL)


def find_files(roots: list[Path]) -> list[Path]:
    """Every ``*.json`` under the roots, hidden ones and symbolic links included (they are checked,
    and fail, rather than slip past verification into a table), sorted."""
    found: set[Path] = set()
    for root in roots:
        if root.is_file() or root.is_symlink():
            found.add(root)
        elif root.is_dir():
            found.update(p for p in root.rglob("*.json") if p.is_file() or p.is_symlink())
    return sorted(found)
