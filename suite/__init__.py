"""The harness of the open leaderboard for performance estimators of neural architectures.

Everything an estimator does not decide lives here: the protocol, the data layer, the search
spaces, the benchmarks, the criteria, the runner and the result files.
"""

__version__ = "0.1.0"
