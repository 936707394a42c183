#!/usr/bin/env python3
"""Should a batch of several sources learn one offset, or one per source? Replayed, no encode: the labels of
series encoded without learning (`benchmarks/batch_learning.py --runs no_learn`: per shot, the model's start and
where the attempts put the aim), put together into a library of several series, each series one source, and
each rule applied in input order, every file corrected only from the files before it (``jobs=1``).

    python benchmarks/experiments/batch_sources.py NL1.json NL2.json ... --out benchmarks/results/batch_sources.json

Rules: ``one offset`` is the batch's rule before sources (`jndenc.learn.offset` over every earlier file);
``per source`` is `jndenc.learn.source_offset` (the file's own source's files, shrunk toward the other sources'
offset); ``each source alone`` the same shrunk toward zero (a new series starts at the model's estimate). Orders: ``folders`` (each series' files together, one series after the other, as a recursive folder
scan hands them out) and ``interleaved`` (one file of each series in turn, as a manifest of new releases might).
Reported per library, order and rule: the start's mean absolute error over the library and per series the
first and the last quarter of its own files (x264 CRF). Neither rule has a parameter to tune; the libraries
of training and validation series say whether per-source learning helps, the libraries with the test series
are reported beside them, never chosen on.
"""
from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np

from batch_slope import files_of  # this folder: a script's own folder is on its path

from jndenc import learn
from jndenc.batch.learning import quarters_of


RULES = ("one offset", "per source", "each source alone")


def order(library: dict[str, list], how: str) -> list[tuple[str, list[learn.ShotLabel]]]:
    """The library's files as ``(source, labels)`` in input order."""
    if how == "folders":
        return [(name, f) for name, files in library.items() for f in files]
    out, longest = [], max(len(f) for f in library.values())
    for k in range(longest):
        out += [(name, files[k]) for name, files in library.items() if k < len(files)]
    return out


def replay(batch: list[tuple[str, list[learn.ShotLabel]]], rule: str) -> dict:
    errs: list[tuple[str, list[float]]] = []
    for i, (src, f) in enumerate(batch):
        earlier = batch[:i]
        if rule == "one offset":
            off = learn.offset(g for _, g in earlier)
        elif rule == "per source":
            off = learn.source_offset(earlier, src)
        else:  # each source alone, shrunk toward zero: a new series starts at the model's estimate
            off = learn.offset(g for s, g in earlier if s == src)
        errs.append((src, [abs(x.residual - off) for x in f]))
    per = {}
    for src in dict.fromkeys(s for s, _ in batch):
        quarters = [float(np.mean([v for _, e in q for v in e])) for q in quarters_of([x for x in errs if x[0] == src])]
        per[src] = {"first_quarter": round(quarters[0], 3), "last_quarter": round(quarters[-1], 3),
                    "mae": round(float(np.mean([v for s, e in errs if s == src for v in e])), 3)}
    return {"mae": round(float(np.mean([v for _, e in errs for v in e])), 3), "series": per}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    series, meta = {}, []
    for p in args.runs:
        d = json.loads(p.read_text())
        meta.append({"commit": d["commit"], "clips": [s["clip"] for s in d["series"]]})
        for se in d["series"]:
            files = files_of(se)
            res = [x.residual for f in files for x in f]
            series[se["clip"]] = {"split": se["split"], "files": files, "mean_residual": round(float(np.mean(res)), 3)}
    if len({m["commit"] for m in meta}) != 1:
        ap.error("series from different commits: rerun them at one commit")
    names = list(series)
    held = [n for n in names if series[n]["split"] not in ("train", "valid")]
    # every pair, the training and validation series together, every series together
    seen = [n for n in names if n not in held]
    libraries = [list(c) for c in combinations(names, 2)] + [seen, names]
    libraries = [lib for i, lib in enumerate(libraries) if len(lib) > 1 and lib not in libraries[:i]]
    out = {"commit": meta[0]["commit"], "runs": meta,
           "series": {n: {"split": s["split"], "files": len(s["files"]), "mean_residual": s["mean_residual"]}
                      for n, s in series.items()},
           "libraries": []}
    for lib in libraries:
        row = {"series": lib, "with_test": any(n in held for n in lib), "orders": {}}
        for how in ("folders", "interleaved"):
            batch = order({n: series[n]["files"] for n in lib}, how)
            row["orders"][how] = {rule: replay(batch, rule) for rule in RULES}
        out["libraries"].append(row)
        print(" + ".join(lib), {h: {r: v["mae"] for r, v in o.items()} for h, o in row["orders"].items()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
