"""The study's analyses of result files (``suite analyze``).

Each analysis is a small pure function over numpy arrays (shapes in its docstring) plus a writer
that puts a plot and its data (JSON and CSV) into a directory; :mod:`suite.analysis.report` runs
every analysis that applies to a result and writes ``index.json``. See ``docs/analysis.md``.
"""

from suite.analysis.ranks import kendall, normalised_ranks
from suite.metrics import worst_filled

__all__ = ["kendall", "normalised_ranks", "worst_filled"]
