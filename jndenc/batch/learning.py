"""A batch that learns its starts: each finished file's measured shots correct the first attempts of the files
after it (`jndenc.learn`).

So that the outputs do not depend on which worker finished first, file ``i`` (in input order) starts from the
labels of exactly the files ``0 .. i - lag`` and is not handed out before they have finished; ``lag`` is the
number of files encoded side by side, so with one job every earlier file counts. The labels live in the
journal's results, so a resumed batch rebuilds the same corrections.

A batch may hold several sources (a library of series, one folder each): each file learns its own source's
offset, shrunk toward what the batch's other sources taught (`jndenc.learn.source_offset`); a batch of one
source learns exactly `jndenc.learn.offset`.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from .. import learn


def labels_of(result: dict | None) -> list[learn.ShotLabel] | None:
    """A finished file's labels from its encode result (None: it ran no measured loop)."""
    start = (result or {}).get("start")
    return learn.labels_from(start) if start else None


class Learning:
    """The coordinator's labels by input position: when a file may start, and the offset it starts from."""

    def __init__(self, lag: int, finished: Iterable[int] = (), sources: Sequence[str] | None = None) -> None:
        self.lag = max(1, lag)
        self.finished = set(finished)
        self.labels: dict[int, list[learn.ShotLabel]] = {}
        self.sources = sources  # each position's source (`jndenc.batch.items.Item.learns_with`); None: one source

    def ready(self, i: int) -> bool:
        """Whether every file file ``i`` learns from has finished."""
        return all(j in self.finished for j in range(i - self.lag + 1))

    def offset(self, i: int) -> float:
        earlier = [(self._source(j), self.labels[j]) for j in sorted(self.labels) if j <= i - self.lag]
        return learn.source_offset(earlier, self._source(i))

    def _source(self, i: int) -> str | None:
        return None if self.sources is None else self.sources[i]

    def record(self, i: int, result: dict | None) -> None:
        self.finished.add(i)
        got = labels_of(result)
        if got:
            self.labels[i] = got


def quarters_of(items: Sequence) -> list[Sequence]:
    """``items`` in input order cut into four consecutive parts as even as they go (fewer for fewer items)."""
    if not items:
        return []
    parts = min(4, len(items))
    size, extra = divmod(len(items), parts)
    out, at = [], 0
    for q in range(parts):
        out.append(items[at:at + size + (q < extra)])
        at += len(out[-1])
    return out


def report(results: Sequence[dict], lag: int | None, sources: Sequence[str] | None = None) -> dict | None:
    """How the starts' error and the attempts per shot moved over the batch: its finished measured files in input
    order, cut into quarters (fewer parts for fewer than four files). ``sources``: each result's source (None: one);
    where there are several, ``per_source`` gives the same first and last quarter within each source's files."""
    src = list(sources) if sources is not None else [None] * len(results)
    files = [((r["start"], r.get("loop") or {}), s) for r, s in zip(results, src) if r.get("start")]
    if not files:
        return None
    quarters = _quarters([f for f, _ in files])
    first, last = quarters[0]["start_mae"], quarters[-1]["start_mae"]
    names = list(dict.fromkeys(s for _, s in files))
    out = {"lag": lag, "prior_files": learn.PRIOR_FILES, "sources": len(names), "quarters": quarters,
           "last_over_first_start_mae": round(last / first, 3) if first and last is not None else None}
    if len(names) > 1:
        per = {}
        for name in names:
            q = _quarters([f for f, s in files if s == name])
            per[name] = {"files": sum(x["files"] for x in q), "first": q[0], "last": q[-1]}
        out["per_source"] = per
    return out


def _quarters(files: Sequence[tuple[dict, dict]]) -> list[dict]:
    quarters = []
    for chunk in quarters_of(files):
        errs = learn.errors([(s["offset"], learn.labels_from(s)) for s, _ in chunk])
        shots = sum(len(s["labels"]) for s, _ in chunk)
        attempts = sum(lp.get("attempts", 0) for _, lp in chunk)
        quarters.append({"files": len(chunk), **errs, "attempts_per_shot": round(attempts / shots, 3) if shots else None,
                         "offset_last": chunk[-1][0]["offset"]})
    return quarters
