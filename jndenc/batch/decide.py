"""What a batch does with each file it is given, from the file's journal row and the files on disk: encode it,
skip it (done, or over --max-size before), adopt the output a killed run finished, leave a failure be, or refuse to
touch a file it did not write; and the adoption itself (`jndenc.batch.runner` runs the decisions)."""
from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path

from .items import Item
from .journal import Journal
from .workers import result_path

EXISTS = "the output exists and this batch did not write it (-y / --overwrite, overwrite=True in Python, replaces it)"
DECISIONS = ("encode", "skip", "adopt", "failed", "over_size", "exists")
# options that change no output: toggling them between runs must not redo finished files
_NOT_IN_FINGERPRINT = {"predictor", "workers", "quiet", "verify", "trial_cache", "compare_crf", "resume"}


def options_fingerprint(options: dict) -> str:
    """The options a file was encoded at, as the journal keeps them: a change redoes the file."""
    def plain(v):
        return asdict(v) if is_dataclass(v) else v

    clean = {k: plain(v) for k, v in options.items() if k not in _NOT_IN_FINGERPRINT and v is not None}
    return json.dumps(clean, sort_keys=True, default=str)


def decide(journal: Journal, item: Item, fingerprint: str, plan: Path, *, overwrite: bool, retry_failed: bool
           ) -> tuple[str, dict | None]:
    """One of `DECISIONS` for ``item`` and its journal row. ``fingerprint``: the options this run would encode it
    at (`jndenc.batch.runner.options_fingerprint`); ``plan``: where its worker writes the plan (and, beside it,
    its result) before encoding."""
    row = journal.get(item.key)
    if (not overwrite and (row is None or row["status"] in ("pending", "failed", "over_size"))
            and item.output.exists() and not wrote(item, row)):
        return "exists", row  # a file this batch did not write (jndenc never leaves a failed one behind)
    if row is None or row["status"] == "pending" or (row["status"] == "failed" and row["reason"] == EXISTS):
        return "encode", row
    if not (journal.input_unchanged(row, item.input) and row["options"] == fingerprint):
        return "encode", row
    if row["status"] == "done":
        ok = item.output.is_file() and item.output.stat().st_size == row["output_size"]
        return ("skip" if ok else "encode"), row
    if row["status"] == "over_size":
        return "over_size", row  # the same input at the same options would come out as large again
    if row["status"] == "running":
        return ("adopt" if adoptable(item, row, plan) else "encode"), row
    return ("encode" if retry_failed else "failed"), row


def wrote(item: Item, row: dict | None) -> bool:
    """Whether the output on disk is the one this batch last wrote for the item: a later attempt that failed
    (other options: a typo in a manifest row) keeps the row's output size, and the file is still that one."""
    try:
        return bool(row and row.get("output_size")) and item.output.stat().st_size == row["output_size"]
    except OSError:
        return False


def adoptable(item: Item, row: dict, plan: Path) -> bool:
    """A killed run's output that was completed after the attempt began (encode() renames only validated files,
    and its plan file is written before encoding starts)."""
    try:
        started = row["started_at"] or float("inf")
        return item.output.stat().st_mtime >= started - 1.0 and plan.stat().st_mtime >= started - 1.0
    except OSError:
        return False


def adopt(journal: Journal, item: Item, row: dict, plan: Path) -> None:
    """Record the output a killed run finished as done: with the result its worker kept (its start labels teach
    the files after it as before), else from its plan."""
    from ..planner import Plan

    size = item.output.stat().st_size
    out = kept_result(row, plan, size)
    if out is not None:
        journal.mark_done(item.key, output_size=size, frames=out["frames"], duration_s=out["duration_s"],
                          crfs=out["crfs"], timings=out["timings"], result=out["result"] | {"adopted": True})
        return
    p = Plan.from_dict(json.loads(plan.read_text()))
    journal.mark_done(item.key, output_size=size, frames=p.frames, duration_s=p.frames / p.fps if p.fps else None,
                      crfs=[s.crf for s in p.shots], timings={}, result={"adopted": True})


def kept_result(row: dict, plan: Path, size: int) -> dict | None:
    """The result a worker kept beside the item's ``plan`` for this run's attempt (`result_path`), where it
    describes the output on disk (``size`` bytes); None otherwise."""
    path = result_path(plan)
    try:
        if path.stat().st_mtime < (row["started_at"] or float("inf")) - 1.0:
            return None
        out = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return out if out.get("ok") and out.get("bytes") == size else None
