"""Benchmark logic behind ``benchmarks/*.py`` and ``jndenc bench``.

`bdrate` runs the BD-rate benchmark (options, orchestration, command line)
over `cache` (clip lists, lossless sources, the result cache), `points`
(cached encodes + metrics and JND analyses), `bd` (BD-rate / matched quality)
and `report` (results.csv, summary.md/json, run.json); `plots` draws RD curves
(matplotlib, Agg); `siti` computes ITU-T P.910 spatial / temporal information
for the accuracy baseline.
"""
