"""What the before/after experiments share: two `benchmarks/segments.py` runs on the same clips, read from the
command line, and the loop's figures of one row of a run."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def load(doc: str, argv=None) -> tuple[dict, dict, Path]:
    """``--before A.json --after B.json --out C.json``: the two runs (same clips, same order) and the output."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
    if not aligned(before, after):
        ap.error("the two runs must be on the same clips")
    return before, after, args.out


def aligned(*runs: dict) -> bool:
    """Whether the runs cover the same clips; each run's clips sorted by name (two processes may finish their
    clips in another order)."""
    for run in runs:
        run["clips"] = sorted(run["clips"], key=lambda c: c["clip"])
    return len({tuple(c["clip"] for c in run["clips"]) for run in runs}) <= 1


def row_figures(run: dict, row: str) -> tuple[dict, list]:
    """One row's loop over the run's clips: bytes, worst shot and shots <= 95.5 (shots accepted at the maximum
    CRF exempt) on the finished file, encoded frames over output frames, time over the plain encode of the same
    process (median and worst); and the (clip, row) pairs for per-clip figures."""
    clips = [(c, c["rows"][row]) for c in run["clips"] if row in c["rows"]]
    vm = np.array([v for _, r in clips for v in r["vmaf"]])
    outcome = [o for _, r in clips for o in r["outcome"]]
    frames = sum(sum(r["frames"]) for _, r in clips)
    wall = [r["wall_s"] / c["plain"]["wall_s"] for c, r in clips]
    return {"commit": run["commit"], "clips": len(clips), "shots": int(vm.size),
            "encoded_over_output_frames": round(sum(r["loop"]["encoded_frames"] for _, r in clips) / frames, 3),
            "bytes": sum(r["bytes"] for _, r in clips), "worst_shot": round(float(vm.min()), 2),
            "share_le_95_5": round(float(np.mean([v <= 95.5 or o == "clamped" for v, o in zip(vm, outcome)])), 3),
            "wall_vs_plain_median": round(float(np.median(wall)), 2),
            "wall_vs_plain_worst": round(max(wall), 2)}, clips


def loop_figures(run: dict, row: str = "balanced") -> tuple[dict, list]:
    """`row_figures` and what the loop did: attempts per shot, rechecks, seconds in the attempts and shots >= 93.5
    on the finished file."""
    out, clips = row_figures(run, row)
    vm = np.array([v for _, r in clips for v in r["vmaf"]])
    out.update({"attempts_per_shot": attempts_per_shot(clips, out["shots"]),
                "rechecks": sum(r["loop"].get("rechecks", 0) for _, r in clips),
                "attempts_s": round(sum(r["cost"]["attempts"]["wall_s"] for _, r in clips), 1),
                "share_ge_93_5": round(float(np.mean(vm >= 93.5)), 3)})
    return out, clips


def attempts_per_shot(clips: list, shots: int) -> float:
    return round(sum(r["loop"]["attempts"] for _, r in clips) / shots, 3)


def bytes_vs(a: dict, b: dict) -> float:
    """``a``'s bytes against ``b``'s, in percent."""
    return round(100 * (a["bytes"] / b["bytes"] - 1), 2)


def main(doc: str, measured, argv=None) -> int:
    """A before/after experiment's command: both runs through ``measured``, the attempts' seconds compared."""
    before, after, out_path = load(doc, argv)
    b, a = measured(before), measured(after)
    a["attempts_s_vs_before"] = round(a["attempts_s"] / b["attempts_s"], 3)
    write(before, b, a, out_path)
    return 0


def codec_main(doc: str, rows: tuple[str, ...], argv=None) -> int:
    """A codec experiment's command: `codec_rows` of ``rows`` in the two runs named on the command line."""
    before, after, out_path = load(doc, argv)
    codec_rows(before, after, rows, out_path)
    return 0


def header(before: dict) -> dict:
    return {"clips": [c["clip"] for c in before["clips"]], "machine": before.get("machine"),
            "frames": before.get("options", {}).get("max_frames")}


def per_clip(clips: list) -> dict:
    """Each clip's bytes, attempts and time over its plain encode, for a run's figures."""
    return {c["clip"]: {"bytes": r["bytes"], "attempts": r["loop"]["attempts"],
                        "wall_vs_plain": round(r["wall_s"] / c["plain"]["wall_s"], 2)} for c, r in clips}


def write(before_run: dict, b: dict, a: dict, out_path: Path) -> dict:
    """The two runs' figures (``a`` gains its bytes against ``b``) with the runs' header, to ``out_path``."""
    a["bytes_vs_before_pct"] = bytes_vs(a, b)
    out = {**header(before_run), "before": b, "after": a}
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    for k in ("before", "after"):
        print(k, {x: y for x, y in out[k].items() if x != "per_clip"})
    return out


def codec_rows(before_run: dict, after_run: dict, rows: tuple[str, ...], out_path: Path) -> dict:
    """Per codec row of the two runs: the loop's figures (`row_figures`), attempts per shot, bytes and frames per
    clip, and the bytes of ``after`` against ``before``; written with the runs' header to ``out_path``."""
    def measured(run: dict, row: str) -> dict:
        out, clips = row_figures(run, row)
        out["attempts_per_shot"] = attempts_per_shot(clips, out["shots"])
        out["per_clip"] = {c["clip"]: {"bytes": r["bytes"], "frames": sum(r["frames"])} for c, r in clips}
        return out

    res = {}
    for row in rows:
        b, a = measured(before_run, row), measured(after_run, row)
        a["bytes_vs_before_pct"] = bytes_vs(a, b)
        res[row] = {"before": b, "after": a}
    out = {**header(before_run), "rows": res}
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    print("\n".join(f"{row} {k}: {v['bytes']:,} bytes, worst {v['worst_shot']}, "
                    f"{v['attempts_per_shot']} attempts/shot, {v['wall_vs_plain_median']}x"
                    for row, d in res.items() for k, v in d.items()))
    return out
