"""What the site may show: the verified result files, and the rejected ones with their reasons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from suite.results import ResultFile, parse_json_bytes, validate_result
from suite.verify import Verifier, find_files


@dataclass(frozen=True)
class Accepted:
    """A verified result: where it came from, what it says, who signed it."""

    path: Path
    result: ResultFile
    signer: str


def collect(roots: list[Path], signers: Path, data_dir: Path | None, cache_dir: Path | None = None
            ) -> tuple[list[Accepted], list[tuple[Path, str]]]:
    """Verify every ``*.json`` under ``roots``; (accepted, rejected as (path, first failed check))."""
    from suite.submit import run_identity

    verifier = Verifier(signers, data_dir, cache_dir)
    accepted, rejected = [], []
    seen: dict[tuple, Path] = {}
    for path in find_files(roots):
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        report = verifier.verify(path, data=data)
        if not report.ok or data is None:
            failed = next((c for c in report.checks if c.status == "fail"), None)
            rejected.append((path, f"{failed.name}: {failed.message}" if failed else "not verified"))
            continue
        result = validate_result(parse_json_bytes(data, path)["result"], path)  # the bytes that were verified
        identity = run_identity(result)
        if identity in seen:
            rejected.append((path, f"unique: the same run as {seen[identity]}"))
            continue
        seen[identity] = path
        accepted.append(Accepted(path=path, result=result, signer=report.signer or "?"))
    return accepted, rejected
