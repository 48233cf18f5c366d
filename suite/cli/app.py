"""The ``suite`` command line's root group and entry point.

Data goes to stdout, diagnostics and progress to stderr. Errors print one line ``error: ...``
and exit with a distinct status (1 failure, 2 usage, 3 verification failed, 130 interrupted);
``--debug`` shows the traceback instead. The commands are added to the group by
:mod:`suite.cli.commands` (this module imports none of them).
"""

from __future__ import annotations

import sys

import click

from suite.errors import SuiteError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="nas-estimator-suite", prog_name="suite")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """The open leaderboard for performance estimators of neural architectures."""
    ctx.ensure_object(dict)["debug"] = debug


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turn SuiteErrors into one line and an exit status."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="suite", standalone_mode=False)
    except SuiteError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0
