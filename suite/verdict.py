"""What `suite verify` says about one file: each check's one-line verdict, and the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "skip"]


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


class CheckSkipped(Exception):
    """A check that does not apply (e.g. rerun of a non-deterministic estimator)."""


def one_line(text: str) -> str:
    """One printable line: the first line, at most 400 characters, undecodable characters escaped."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:400].encode("utf-8", "backslashreplace").decode("utf-8")
