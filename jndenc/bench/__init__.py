"""Benchmark logic behind ``benchmarks/*.py`` and ``jndenc bench``; product code never imports it.

`bdrate` runs the BD-rate benchmark (orchestration, command line) with its
`options` (`BenchOptions`) over `cache` (clip subsets, the JSON result cache),
`points` (cached encodes + metrics and JND analyses), `bd` (BD-rate / matched
CRF numbers, no encodes), `match` (the extra encodes of the matched worst-shot
comparison) and `report` (results.csv, summary.md/json, run.json); `plots`
draws RD curves (matplotlib, Agg).
"""
