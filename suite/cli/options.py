"""Options several commands share, spelled and explained the same way everywhere.

Conventions: ``--out`` names a file, ``--out-dir`` a directory; ``--gt`` a ground-truth column;
``--json`` prints machine-readable output on stdout. Older spellings (``--gt-column``, a
directory's ``--out``) keep working but are not shown in ``--help``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from suite import paths

RESULT_PATHS = "<out-dir>/<benchmark>/<estimator>/seed<seed>[-sample<n>]-<config8>.json"
KEY_SOURCES = "env SUITE_SIGNING_KEY; default ~/.config/nas-suite/signing_key"


class OldSpellings(click.Option):
    """An option that also accepts older spellings of its name (``old``); help and errors name only the current ones."""

    def __init__(self, *args, old: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.old = old

    @contextlib.contextmanager
    def _current_names(self):
        every = self.opts
        self.opts = [o for o in every if o not in self.old]
        try:
            yield
        finally:
            self.opts = every

    def get_help_record(self, ctx: click.Context):
        with self._current_names():
            return super().get_help_record(ctx)

    def get_error_hint(self, ctx: click.Context) -> str:
        with self._current_names():
            return super().get_error_hint(ctx)


def data_options(func=None, *, cache_note: str = ""):
    """``--data-dir`` and ``--cache-dir``; ``cache_note`` is appended to the cache's help."""
    if func is None:
        return lambda f: data_options(f, cache_note=cache_note)
    func = click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=f"Cache for decoded data [env {paths.CACHE_DIR_ENV}; default ~/.cache/nas-suite]"
                             f"{cache_note}.")(func)
    func = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=f"Data directory [env {paths.DATA_DIR_ENV}; default <cache>/data].")(func)
    return func


def json_option(what: str):
    """``--json``: print ``what`` as JSON on stdout instead of text."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON on stdout.")


def gt_option(default: str):
    """``--gt COLUMN`` (old spelling ``--gt-column``); ``default`` says which column is used without it."""
    return click.option("--gt", "--gt-column", "gt_column", cls=OldSpellings, old=("--gt-column",), default=None,
                        metavar="COLUMN", help=f"Ground-truth column to judge against [default: {default}].")


def out_dir_option(help: str, **kwargs):
    """``--out-dir DIR`` (old spelling ``--out`` where a command took a directory under that name)."""
    return click.option("--out-dir", "--out", "out_dir", cls=OldSpellings, old=("--out",),
                        type=click.Path(file_okay=False, path_type=Path), help=help, **kwargs)


def results_dir_option(func):
    """``--out-dir``: the root of the result files' standard paths."""
    return click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                        show_default=True, help=f"Root of the result paths: {RESULT_PATHS}.")(func)


def overwrite_option(help: str):
    """``--overwrite``: replace what exists (``help`` says what)."""
    return click.option("--overwrite", is_flag=True, help=help)


def key_option(help: str = "Ed25519 signing key (OpenSSH)"):
    """``--key PATH``: the private signing key."""
    return click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help=f"{help} [{KEY_SOURCES}].")


def signers_option(func):
    """``--signers FILE``: the trusted signers (allowed_signers)."""
    return click.option("--signers", "signers_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=Path("submissions") / "allowed_signers", show_default=True,
                        help="Trusted signers file.")(func)


def progress_options(note: str = ""):
    """``--progress`` and ``-q/--quiet`` (the same as ``--progress none``)."""
    def decorate(func):
        func = click.option("-q", "--quiet", is_flag=True,
                            help="No progress output (the same as --progress none).")(func)
        return click.option("--progress", "progress_mode", type=click.Choice(["auto", "bar", "log", "none"]),
                            default="auto", show_default=True,
                            help=f"Progress on stderr: a bar (terminal), timestamped lines (logs) or nothing"
                                 f"{note}.")(func)
    return decorate
