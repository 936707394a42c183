"""What the batch summary and each item's result say, read from the journal's rows (pure: rows in, dicts out)."""
from __future__ import annotations

import json

from ..media.ffargs import VMAF_MODEL
from .learning import report as learning_report


def result_of(row: dict) -> dict:
    try:
        return json.loads(row["result"]) if row.get("result") else {}
    except (ValueError, AttributeError):
        return {}


def verify_of(row: dict) -> dict | None:
    return result_of(row).get("verify")


def start_of(row: dict) -> dict | None:
    start = result_of(row).get("start")
    return {k: v for k, v in start.items() if k != "labels"} if start else None


def passes_of(row: dict) -> list | None:
    keep = ("bytes", "worst_shot_vmaf", "shots_below_target", "kept")
    return [{k: p[k] for k in keep if k in p} for p in result_of(row).get("passes") or []] or None


def unmeasured(row: dict, options: dict) -> str | None:
    """What a file done by an earlier run lacks of the measurements ``options`` ask for (its output is taken as it
    is, not encoded again), as the options that would have made it, or None: a rerun into the same folder with
    --verify or --compare-crf skipped every file without a word, and its summary read as if they had run."""
    result = result_of(row)
    missing = []
    v = result.get("verify")
    if options.get("verify") and (not v or v.get("measured", "output") != "output"):
        missing.append("--verify")
    crf = options.get("compare_crf")
    if crf is not None and (result.get("compare") or {}).get("crf") != crf:
        missing.append(f"--compare-crf {crf:g}")
    return ", ".join(missing) or None


def corrected(rows: list[dict]) -> dict:
    """Over the items that ran --ensure/--tighten re-encodes: how many, how many encodes that took, and bytes."""
    runs = [p for r in rows if (p := result_of(r).get("passes"))]
    if not runs:
        return {}
    return {"corrected_items": len(runs), "corrective_encodes": sum(len(p) - 1 for p in runs),
            "corrected_first_pass_bytes": sum(p[0]["bytes"] for p in runs),
            "corrected_output_bytes": sum(next(x["bytes"] for x in p if x.get("kept", True)) for p in runs)}


def compared(rows: list[dict]) -> dict:
    """Over the items encoded with ``compare_crf``: video bytes against the plain fixed-CRF encodes, and the
    plain encodes' worst shot where they were verified."""
    comps = [(r["key"], c) for r in rows if (c := result_of(r).get("compare"))]
    if not comps:
        return {}
    ours = sum(c["jndenc_video_bytes"] for _, c in comps)
    theirs = sum(c["video_bytes"] for _, c in comps)
    out = {"compare": {"items": len(comps), "crfs": sorted({c["crf"] for _, c in comps}),
                       "jndenc_video_bytes": ours, "video_bytes": theirs,
                       "saving_pct": round(100.0 * (1 - ours / theirs), 2) if theirs else None}}
    verified = [(k, c["verify"]) for k, c in comps if c.get("verify")]
    if verified:
        key, v = min(verified, key=lambda kv: kv[1]["worst_shot_vmaf"])
        out["compare"].update({"worst_shot_vmaf": v["worst_shot_vmaf"], "worst_shot_item": key,
                               "vmaf_model": v.get("vmaf_model", VMAF_MODEL),
                               "items_with_shots_below_target": sum(c[1]["shots_below_target"] > 0 for c in verified)})
    return out


def worst_shot(rows: list[dict]) -> dict:
    """The lowest measured shot VMAF over the batch (only items that measured their shots count): ``verified_items``
    measured the finished file (--verify), ``loop_measured_items`` only had the shot loop's readings of its
    segments."""
    checked = [(r["key"], v) for r in rows if (v := verify_of(r)) and v.get("worst_shot_vmaf") is not None]
    if not checked:
        return {}
    key, v = min(checked, key=lambda kv: kv[1]["worst_shot_vmaf"])
    by_loop = sum(c.get("measured") == "segments" for _, c in checked)
    # one model per batch (an option of the run); a row written before the model was recorded: the default
    return {"verified_items": len(checked) - by_loop, "loop_measured_items": by_loop,
            "worst_shot_vmaf": v["worst_shot_vmaf"], "worst_shot_item": key,
            "vmaf_model": v.get("vmaf_model", VMAF_MODEL),
            "items_with_shots_below_target": sum(c[1].get("shots_below_target", 0) > 0 for c in checked)}


def summarize(rows: list[dict], keys: list[str], counts: dict, media_s: float, wall: float, run: dict, *,
              learn: bool, lag: int | None, sources: dict[str, str] | None = None) -> dict:
    """The batch's summary from its items' journal ``rows`` (``keys``: the items in input order), this run's
    ``counts`` per outcome, the media seconds it encoded and its ``wall`` seconds, and how it ran (``run``:
    executor, jobs, threads, memory waits); ``learn``: the starts' learning reported (its ``lag``, and each key's
    source, ``sources``, where its files learned apart: `jndenc.batch.learning`)."""
    done = [r for r in rows if r["status"] == "done"]
    in_b = sum(r["input_size"] or 0 for r in done)
    out_b = sum(r["output_size"] or 0 for r in done)
    by_key = {r["key"]: r for r in done}
    return {
        "items": len(keys), "done": len(done), "failed": sum(r["status"] == "failed" for r in rows),
        **{f"{k}_this_run": v for k, v in counts.items()},
        "input_bytes": in_b, "output_bytes": out_b,
        "saving_pct": round(100.0 * (1 - out_b / in_b), 2) if in_b else None,
        "wall_s": round(wall, 3), "encoded_media_s": round(media_s, 3),
        # throughput of this run's encodes (None when it encoded nothing)
        "realtime_factor": round(media_s / wall, 3) if counts["encoded"] else None,
        "files_per_min": round(counts["encoded"] / wall * 60, 2) if counts["encoded"] else None,
        **run,
        "failures": {r["key"]: r["reason"] for r in rows if r["status"] == "failed"},
        # encoded, not written: their video would not shrink within --max-size (keep the source)
        "over_size": {r["key"]: r["reason"] for r in rows if r["status"] == "over_size"},
        **worst_shot(done),
        **corrected(done),
        **compared(done),
        "learning": learning_report([result_of(by_key[k]) for k in keys if k in by_key], lag,
                                    None if sources is None else [sources[k] for k in keys if k in by_key])
        if learn else None,
    }
