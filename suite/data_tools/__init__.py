"""Managing the data directory: pulling from and pushing to the hub, listing and re-hashing what is
installed, and importing the official benchmark releases into the suite's ground-truth tables.

It sits above the benchmarks (an importer selects a benchmark's standard subset), while
:mod:`suite.data` below only reads files.
"""
