"""Where a result lives under ``submissions/``, and what makes two results the same run.

A submission lives at ``submissions/<benchmark>/<estimator>/seed<seed>[-sample<n>]-<config8>.json``
(:func:`suite.results.result_file_name` with the result's config): the same run always gets the
same name, and two configs of one estimator never collide. Names come from the file, so they are
checked (a registered benchmark, a plain estimator name) and the target must resolve inside
``submissions/``: a hostile name cannot write elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import rfc8785

from suite.benchmarks import BENCHMARKS
from suite.errors import VerificationError
from suite.results import ResultFile, result_file_name

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}", re.ASCII)


def run_identity(result: ResultFile) -> tuple:
    """What makes two results the same run: benchmark, estimator, canonical config (RFC 8785, so
    64 and 64.0 are one config), seed and sample."""
    sample = tuple(sorted(result.benchmark.sample.items())) if result.benchmark.sample else None
    return (result.benchmark.name, result.estimator.name, rfc8785.dumps(result.estimator.config), result.seed, sample)


def submission_path(result: ResultFile, root: Path) -> Path:
    """The stable place of ``result`` under the submissions root.

    Raises:
        VerificationError: a name that is not a plain identifier, or a path that leaves ``root``.
    """
    if result.benchmark.name not in BENCHMARKS:
        raise VerificationError(f"benchmark {result.benchmark.name[:40]!r} is not one of this suite's")
    check_estimator_name(result.estimator.name, "to be submitted")
    sample = result.benchmark.sample["n"] if result.benchmark.sample else None
    target = root / result.benchmark.name / result.estimator.name / result_file_name(result.seed, sample,
                                                                                     result.estimator.config)
    if not target.resolve().is_relative_to(root.resolve()):
        raise VerificationError(f"{target} would leave {root}")
    return target


def check_estimator_name(name: str, why: str = "") -> None:
    """An estimator name is plain lowercase ASCII (letters, digits, ``_.-``; at most 64), so that no
    look-alike of another (a Cyrillic ``ѕnip``) can pass for it, and it is safe as a directory name.

    Raises:
        VerificationError: names the name (escaped) and the rule.
    """
    if not _NAME.fullmatch(name) or name in {".", ".."}:
        shown = name[:40].encode("ascii", "backslashreplace").decode()
        raise VerificationError(f"estimator name {shown!r} must match {_NAME.pattern} (lowercase ASCII)"
                                + (f" {why}" if why else ""))
