"""Every command on the root group, added in one place (the command modules do not import each other)."""

from suite.cli.analyze_cmd import analyze_cmd
from suite.cli.app import cli
from suite.cli.check_estimator_cmd import check_estimator_cmd
from suite.cli.data_cmd import data_group
from suite.cli.leaderboard_cmd import leaderboard_group
from suite.cli.list_cmd import list_cmd
from suite.cli.run_cmd import merge_cmd, run_cmd
from suite.cli.trust_cmd import keygen_cmd, submit_cmd, verify_cmd

for command in (list_cmd, run_cmd, merge_cmd, keygen_cmd, verify_cmd, submit_cmd, data_group, leaderboard_group,
                analyze_cmd, check_estimator_cmd):
    cli.add_command(command)

__all__ = ["cli"]
