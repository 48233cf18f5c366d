"""Rendering: the Jinja2 environment of the site's templates (autoescaping every page), and writing pages out."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape


def environment() -> Environment:
    """The Jinja2 environment of the site's templates, autoescaping every page."""
    return Environment(loader=PackageLoader("leaderboard", "templates"), autoescape=select_autoescape(["j2", "html"]),
                       keep_trailing_newline=True)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
