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

    @property
    def scores(self) -> str:
        """``re-scored`` when the suite re-scores the file's scores (the ``rescorable`` check passed, and
        ``rerun``, where it ran, too: CI re-scores every submission), else ``self-reported`` (taken on
        the signer's word: the estimator is not installed or not deterministic, or its trained weights
        are not beside the file)."""
        status = {c.name: c.status for c in self.checks}
        ok = self.ok and status.get("rescorable") == "pass" and status.get("rerun", "pass") == "pass"
        return "re-scored" if ok else "self-reported"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "signer": self.signer, "scores": self.scores,
                "checks": [{"name": c.name, "status": c.status, "message": c.message} for c in self.checks]}


class CheckSkipped(Exception):
    """A check that does not apply (e.g. rerun of a non-deterministic estimator)."""


def one_line(text: str) -> str:
    """One printable line: the first line, at most 400 characters, control and undecodable characters escaped."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return printable(first[:400])


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (escape sequences, carriage returns,
    bidirectional overrides) and undecodable ones written as backslash escapes, so a file or estimator
    name cannot move the cursor, recolour the screen or hide what follows."""
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return out.encode("utf-8", "backslashreplace").decode("utf-8")
