"""Benchmark logic behind ``benchmarks/*.py`` and ``jndenc bench``.

`bdrate` runs and caches encodes + metrics and computes BD-rate / matched
quality; `plots` draws RD curves (matplotlib, Agg); `siti` computes ITU-T
P.910 spatial / temporal information for the accuracy baseline.
"""
