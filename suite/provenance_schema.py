"""The typed schema of a result's ``provenance``: what :mod:`suite.provenance` and the runner record.

The result file keeps ``provenance`` as the plain JSON object it was written as (its bytes are
signed); :func:`parse_provenance` reads it through :class:`Provenance` for typed access and
refuses a value of the wrong type with one line naming the field. Strict types: a string is not
a number, a bool is not an int. Keys beyond these are kept: at the top level (a record of its own)
and in ``data`` (more hashes, strings).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, ValidationError

from suite.errors import ResultFileError


class _Record(BaseModel):
    """A record the suite writes itself: every key known."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Environment(_Record):
    """Versions and hardware of the process that scored (:func:`suite.provenance.environment`)."""

    python: str
    platform: str
    machine: str | None = None
    numpy: str
    torch: str
    cuda: str | None
    cudnn: int | None
    device: str
    device_name: str | None
    dtype: str


class SessionEnvironments(_Record):
    """The environments of a run whose environment changed along the way (resumed elsewhere, merged shards)."""

    sessions: list[Environment]


class Determinism(_Record):
    """The deterministic-execution settings in force (:func:`suite.provenance.determinism_record`)."""

    cudnn_deterministic: bool
    cudnn_benchmark: bool
    tf32_matmul: bool
    tf32_cudnn: bool
    deterministic_algorithms: bool
    cublas_workspace_config: str | None
    torch_threads: int
    torch_interop_threads: int
    omp_num_threads: str | None
    mkl_num_threads: str | None


class NoRecord(_Record):
    """An empty record (a merge of shards that journaled no determinism settings)."""


def _environment_kind(value: Any) -> str:
    return "SessionEnvironments" if isinstance(value, dict) and "sessions" in value else "Environment"


def _determinism_kind(value: Any) -> str:
    return "NoRecord" if value == {} else "Determinism"


#: One environment, or ``{"sessions": [...]}``: the error of a wrong one names the fields of the kind it looks like.
EnvironmentRecord = Annotated[Union[Annotated[Environment, Tag("Environment")],
                                    Annotated[SessionEnvironments, Tag("SessionEnvironments")]],
                              Discriminator(_environment_kind)]
DeterminismRecord = Annotated[Union[Annotated[Determinism, Tag("Determinism")], Annotated[NoRecord, Tag("NoRecord")]],
                              Discriminator(_determinism_kind)]
_TAGS = {"Environment", "SessionEnvironments", "Determinism", "NoRecord"}


class Seeds(_Record):
    run: int
    sample: int


class DataHashes(BaseModel):
    """sha256 of the ground truth, and of every other input the estimators read (name -> hex)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    __pydantic_extra__: dict[str, str]

    ground_truth: str


class JournalRecord(_Record):
    identity_sha256: str


class Retried(_Record):
    """An architecture whose failure was recovered (e.g. a split batch); its scores are kept."""

    arch_id: str
    label: str
    how: str


class Provenance(BaseModel):
    """Everything that can change a number of the run, as the runner records it.

    ``wall_time_s`` is absent from a merge of shards (no one process timed the run); ``shards``
    is present only there. ``retried``, ``estimator_record`` and ``partial_benchmark`` are present
    when they say something.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    environment: EnvironmentRecord
    determinism: DeterminismRecord
    threads: int
    seeds: Seeds
    data: DataHashes
    swept_with: list[str]
    executor: str
    sessions: int
    suite_commits: list[str]
    shards: int | None = None
    journal: JournalRecord
    retried: list[Retried] | None = None
    started_at: str
    wall_time_s: float | None = None
    estimator_record: dict[str, Any] | None = None
    partial_benchmark: str | None = None


def parse_provenance(raw: Any) -> Provenance:
    """A result's ``provenance`` (parsed JSON) -> :class:`Provenance`.

    Raises:
        ResultFileError: one line naming the first field of the wrong type, or missing.
    """
    try:
        return Provenance.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"] if p not in _TAGS)[:120]
        where = f"provenance.{field}" if field else "provenance"
        raise ResultFileError(f"field {where}: {first['msg'][:200]}") from None
