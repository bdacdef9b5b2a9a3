"""Benchmarks of butterflyvi against a trivial baseline and the published figures.

Run ``python -m benchmarks.run --help``; see ``docs/benchmarks.md`` for the results.
"""
