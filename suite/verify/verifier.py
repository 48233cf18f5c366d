"""The Verifier: runs each file's checks in order, skipping those whose inputs failed, then the
checks across files (each run once; each at its submission path)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suite.benchmarks import get_benchmark
from suite.errors import SuiteError, UsageError
from suite.keys import load_signers
from suite.results import ResultFile
from suite.submission_layout import run_identity, submission_path
from suite.verdict import Check, CheckSkipped, Report, one_line, printable
from suite.verify.content import check_coverage, check_estimator, check_metrics, check_protocol, check_schema
from suite.verify.envelope import check_digest, check_envelope, check_file, check_signature
from suite.verify.rescorable import check_rescorable
from suite.verify.state import FileState
from suite.weights import weights_dir

#: The widest tolerances a re-score is granted, whatever the estimator declares (its class decides
#: within them, never the file): CPU kernels round differently across torch versions and thread
#: counts (measured up to 1.2e-4 relative); an accuracy over 500 images may differ by one image.
RERUN_RTOL, RERUN_ATOL = 1e-3, 2e-3


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
        state = FileState(data=data)
        file = Path(path)
        # What costs work (loading the benchmark, recomputing criteria, running the estimator)
        # happens only for files whose digest and signature hold.
        signed = ("digest", "signature")
        steps: list[tuple[str, Callable[[], str], tuple[str, ...]]] = [
            ("file", lambda: self._file(file, state), ()),
            ("envelope", lambda: check_envelope(state), ("file",)),
            ("schema", lambda: self._schema(state), ("envelope",)),
            ("digest", lambda: check_digest(state), ("schema",)),
            ("signature", lambda: self._signature(state), ("envelope",)),
            ("protocol", lambda: check_protocol(state, self._load_benchmark), ("schema", *signed)),
            ("estimator", lambda: check_estimator(state), ("protocol",)),
            ("coverage", lambda: check_coverage(state), ("protocol",)),
            ("metrics", lambda: check_metrics(state), ("protocol",)),
            ("rescorable", lambda: check_rescorable(state, file), ("protocol",)),
        ]
        if self.rerun:
            steps.append(("rerun", lambda: self._rerun(state, file), ("metrics", "coverage")))
        passed: set[str] = set()
        for name, func, needs in steps:
            missing = [n for n in needs if n not in passed]
            if missing:
                report.checks.append(Check(name, "skip", f"skipped: the {missing[0]} check did not pass"))
                continue
            try:
                message = func()
            except CheckSkipped as skip:
                report.checks.append(Check(name, "skip", one_line(str(skip))))
                continue
            except SuiteError as exc:
                report.checks.append(Check(name, "fail", one_line(str(exc))))
                continue
            except Exception as exc:  # noqa: BLE001 - a hostile file must never stop verification of the others
                report.checks.append(Check(name, "fail", one_line(f"cannot check ({type(exc).__name__}: {exc})")))
                continue
            passed.add(name)
            report.checks.append(Check(name, "pass", one_line(message)))
            if name == "signature":
                report.signer = message.split()[2]
        return report

    def verify_many(self, files: list[Path], layout_root: Path | None = None) -> list[Report]:
        """Verify each file, then across files: each run appears once, and (with ``layout_root``)
        sits at its stable submission path under it."""
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
                    state_report.checks.append(Check("layout", "fail", one_line(str(exc))))
                    continue
                if Path(path).resolve() != expected.resolve():
                    state_report.checks.append(Check("layout", "fail", f"belongs at {expected} (`suite submit` places it)"))
                    continue
                state_report.checks.append(Check("layout", "pass", "at its stable submission path"))
        return reports

    # --- the checks that use the verifier's own state; each returns its one-line verdict or raises
    # SuiteError / CheckSkipped

    def _file(self, path: Path, state: FileState) -> str:
        self._last_result = None
        return check_file(path, state)

    def _schema(self, state: FileState) -> str:
        message = check_schema(state)
        self._last_result = state.result
        return message

    def _signature(self, state: FileState) -> str:
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
        message, by_extra = check_signature(state, trusted, extra)
        if by_extra:
            self.signed_by_extra = True
        return message

    def _load_benchmark(self, name: str):
        if name not in self._benchmarks:
            self._benchmarks[name] = get_benchmark(name).load(self.data_dir)
        return self._benchmarks[name]

    def _rerun(self, state: FileState, path: Path) -> str:
        from suite.rerun import rescore  # deferred: torch (re-scoring runs the estimator), so that verify stays light

        if state.estimator_ok is False:
            raise CheckSkipped("skipped: the estimator check did not pass")
        return rescore(state.result, state.benchmark, self.rerun, seed=self.rerun_seed, file_digest=state.digest or "",
                       data_dir=self.data_dir, cache_dir=self.cache_dir, rtol=RERUN_RTOL, atol=RERUN_ATOL,
                       require_installed=self.require_rerun, weights_dir=weights_dir(path))


def find_files(roots: list[Path]) -> list[Path]:
    """Every ``*.json`` under the roots, hidden ones and symbolic links included (they are checked,
    and fail, rather than slip past verification into a table), sorted.

    Raises:
        UsageError: a root that is neither a regular file, a symbolic link nor a directory (a device
            such as /dev/null, a FIFO, a socket): there is nothing there to verify.
    """
    found: set[Path] = set()
    for root in roots:
        if root.is_file() or root.is_symlink():
            found.add(root)
        elif root.is_dir():
            found.update(p for p in root.rglob("*.json") if p.is_file() or p.is_symlink())
        elif root.exists():
            raise UsageError(f"{printable(str(root))} is not a regular file or a directory (a device, a FIFO or a "
                             "socket); give result files, or directories that hold them")
    return sorted(found)
