"""Importers: the official benchmark releases -> the suite's own ground-truth tables.

Each importer reads an official format (or the official API object), keeps the architectures of
the benchmark's space, picks the standard subset with :func:`common.select_subset` and writes the
suite's table with :func:`common.write_ground_truth`.
"""
