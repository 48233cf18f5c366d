"""The result file: a versioned JSON schema, one codec, atomic writes, one rule for its name.

Schema version 1 (``schema_version: 1``); unknown fields are refused, unknown versions rejected.
One file = one (benchmark, estimator + config, seed) run. ``arch_ids`` lists the benchmark ids of
the scored architectures; each snapshot holds one score per id, aligned, plus the criteria
computed from them. Non-finite scores are written as the strings "NaN", "Infinity", "-Infinity"
(JSON has no such numbers); finite floats are written with Python's shortest round-trip repr,
so reading a file gives back bit-identical float64 scores.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import rfc8785
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from suite.atomic import write_atomically
from suite.errors import ResultFileError
from suite.provenance_schema import Provenance, parse_provenance

SCHEMA_VERSION = 1
#: A result file larger than this is refused before parsing. The largest legitimate files: 15,625
#: architectures x 20 one-shot snapshots ~ 8 MB; x 11 zero-shot per-batch vectors ~ 5 MB.
MAX_FILE_BYTES = 64 * 1024 * 1024

ScoreValue = Union[float, Literal["NaN", "Infinity", "-Infinity"]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SuiteInfo(_Model):
    version: str
    git_commit: str | None


class ProtocolInfo(_Model):
    version: str
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")


class BenchmarkInfo(_Model):
    name: str
    ground_truth: str
    ground_truth_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    subset_size: int = Field(ge=1)
    complete: bool
    sample: dict[str, int] | None = None


class EstimatorInfo(_Model):
    name: str
    family: str
    config: dict[str, Any]
    deterministic: bool


class CriteriaBlock(_Model):
    n: int = Field(ge=0)
    n_nonfinite: int = Field(ge=0)
    #: Architectures of the run left out because the estimator failed on them (see ``failures``).
    n_failed: int = Field(default=0, ge=0)
    nonfinite_policy: Literal["worst", "drop"]
    values: dict[str, float | None]


class Snapshot(_Model):
    """One score vector and its criteria.

    ``per_batch`` ([b][n], optional): one value per scoring batch; ``scores`` is their mean.
    ``components`` (name -> [n], optional): the inputs an estimator combined into ``scores``.
    """

    label: str
    scores: list[ScoreValue]
    criteria: CriteriaBlock
    per_batch: list[list[ScoreValue]] | None = None
    components: dict[str, list[ScoreValue]] | None = None


class Failure(_Model):
    arch_id: StrictInt
    reason: str


class ResultFile(_Model):
    schema_version: Literal[1]
    suite: SuiteInfo
    protocol: ProtocolInfo
    benchmark: BenchmarkInfo
    estimator: EstimatorInfo
    seed: int
    arch_ids: list[StrictInt]
    snapshots: list[Snapshot] = Field(min_length=1)
    failures: list[Failure] = []
    #: Kept as written (its bytes are signed); :attr:`provenance_model` reads it typed.
    provenance: dict[str, Any]

    @property
    def provenance_model(self) -> Provenance:
        """``provenance`` through its typed schema.

        Raises:
            ResultFileError: a field of the wrong type, or missing (one line naming it).
        """
        return parse_provenance(self.provenance)

    @field_validator("snapshots")
    @classmethod
    def _unique_labels(cls, snapshots: list[Snapshot]) -> list[Snapshot]:
        labels = [s.label for s in snapshots]
        if len(set(labels)) != len(labels):
            raise ValueError("snapshot labels must be unique")
        return snapshots

    def check_alignment(self) -> None:
        """Every snapshot has exactly one score per architecture id; ids are unique."""
        if len(set(self.arch_ids)) != len(self.arch_ids):  # StrictInt: no bool or string aliases
            raise ResultFileError("arch_ids holds duplicates")
        for snap in self.snapshots:
            vectors = {"scores": snap.scores}
            vectors.update({f"per_batch[{b}]": v for b, v in enumerate(snap.per_batch or [])})
            vectors.update({f"components.{k}": v for k, v in (snap.components or {}).items()})
            for where, values in vectors.items():
                if len(values) != len(self.arch_ids):
                    raise ResultFileError(
                        f"snapshot {snap.label!r} {where} has {len(values)} values for {len(self.arch_ids)} arch_ids"
                    )

    def snapshot(self, label: str | None = None) -> Snapshot:
        """Snapshot ``label`` (default: the last)."""
        snap = self.snapshots[-1] if label is None else next((s for s in self.snapshots if s.label == label), None)
        if snap is None:
            raise ResultFileError(f"no snapshot {label!r}; have {[s.label for s in self.snapshots]}")
        return snap

    def scores(self, label: str | None = None, batches: int | None = None) -> np.ndarray:
        """float64 [n] scores of snapshot ``label`` (default: the last).

        Args:
            batches: the mean over the first ``batches`` per-batch values instead (needs per-batch values).
        """
        snap = self.snapshot(label)
        if batches is None:
            return decode_scores(snap.scores)
        if not snap.per_batch or not 1 <= batches <= len(snap.per_batch):
            have = len(snap.per_batch or [])
            raise ResultFileError(f"snapshot {snap.label!r} holds {have} per-batch values; cannot average {batches}")
        return np.stack([decode_scores(v) for v in snap.per_batch[:batches]], axis=1).mean(axis=1)


def encode_scores(scores: np.ndarray) -> list[ScoreValue]:
    """float64 [n] -> JSON-ready list (non-finite as strings)."""
    out: list[ScoreValue] = []
    for value in np.asarray(scores, dtype=np.float64).tolist():
        if math.isnan(value):
            out.append("NaN")
        elif math.isinf(value):
            out.append("Infinity" if value > 0 else "-Infinity")
        else:
            out.append(value)
    return out


def decode_scores(values: list[ScoreValue]) -> np.ndarray:
    """Inverse of :func:`encode_scores` -> float64 [n]."""
    table = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    return np.array([table[v] if isinstance(v, str) else v for v in values], dtype=np.float64)


def dumps(result: ResultFile) -> str:
    """The file's text: sorted keys, 1-space indent, trailing newline, no NaN tokens."""
    return json.dumps(result.model_dump(mode="json"), sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_result(result: ResultFile, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write atomically (:func:`suite.atomic.write_atomically`); a file there is replaced only with ``overwrite``."""
    result.check_alignment()
    return write_atomically(path, dumps(result), overwrite=overwrite)


def load_json_file(path: str | Path) -> Any:
    """A result or signed result file's JSON, size-limited, with bare NaN/Infinity refused.

    Raises:
        ResultFileError: unreadable, too large, not JSON, or nested too deeply (one line naming the file).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise ResultFileError(f"{path}: {size} bytes, larger than the {MAX_FILE_BYTES}-byte limit of a result file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_json_bytes(data, path)


def parse_json_bytes(data: bytes, where: str | Path) -> Any:
    """Strict JSON: UTF-8, no bare NaN/Infinity, no duplicate keys (which parsers resolve differently)."""
    if len(data) > MAX_FILE_BYTES:
        raise ResultFileError(f"{where}: {len(data)} bytes, larger than the {MAX_FILE_BYTES}-byte limit of a result file")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ResultFileError(f"{where}: not valid JSON ({str(exc)[:200]!r})") from None
    except RecursionError:
        raise ResultFileError(f"{where}: JSON nested too deeply") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {duplicate[:40]!r}")
    return out


def is_signed(raw: Any) -> bool:
    """Whether parsed JSON is a signed result file (a result beside its DSSE envelope)."""
    return isinstance(raw, dict) and "dsseEnvelope" in raw and "result" in raw


def validate_result(raw: Any, where: str | Path) -> ResultFile:
    """Parsed JSON -> a validated, aligned ResultFile; ResultFileError naming ``where`` and the field."""
    if not isinstance(raw, dict):
        raise ResultFileError(f"{where}: a result is a JSON object, got {type(raw).__name__}")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultFileError(
            f"{where}: schema_version {repr(version)[:20]} is not supported by this suite (it reads {SCHEMA_VERSION}); "
            "upgrade the suite or re-run the estimator"
        )
    try:
        result = ResultFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])[:120] or "(top level)"
        raise ResultFileError(f"{where}: field {field}: {first['msg'][:200]}") from None
    try:
        result.check_alignment()
    except ResultFileError as exc:
        raise ResultFileError(f"{where}: {exc}") from None
    return result


def read_result(path: str | Path) -> ResultFile:
    """Read and validate a result file, signed or bare. Signatures are not checked here: `suite verify` does.

    Raises:
        ResultFileError: one line naming the file and the first problem (never a traceback).
    """
    raw = load_json_file(path)
    if is_signed(raw):
        raw = raw["result"]
    return validate_result(raw, path)


def config_digest(config: dict[str, Any]) -> str:
    """The first 8 hex digits of the sha256 of a config's RFC 8785 canonical JSON (so 64 and 64.0
    are one config, and two configs of one estimator do not collide)."""
    return hashlib.sha256(rfc8785.dumps(config)).hexdigest()[:8]


def result_file_name(seed: int, sample: int | None = None, config: dict[str, Any] | None = None) -> str:
    """The one rule for naming a result file: ``seed<seed>[-sample<n>][-<config8>].json``.

    Args:
        sample: the size of the declared seeded sample (None: the whole subset).
        config: the estimator's config as the result records it, named by :func:`config_digest`;
            None leaves it out (a run of the default config where names need not tell configs apart).
    """
    sample_part = "" if sample is None else f"-sample{sample}"
    config_part = "" if config is None else f"-{config_digest(config)}"
    return f"seed{seed}{sample_part}{config_part}.json"


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"bare {token} is not JSON; non-finite scores are written as strings")
