"""Search spaces: architecture types, parse/format, enumeration, canonical forms, networks.

Spaces know nothing about estimators or benchmarks.
"""
