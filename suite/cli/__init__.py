"""The ``suite`` command line: the root group and entry point in :mod:`suite.cli.app`, one module per
command group, registered on the group by :mod:`suite.cli.commands`."""

from suite.cli.app import main
from suite.cli.commands import cli
from suite.cli.run_cmd import parse_shard

__all__ = ["cli", "main", "parse_shard"]
