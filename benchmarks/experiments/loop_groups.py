#!/usr/bin/env python3
"""Do short shots cost less in a shared segment? Balanced on x264 and SVT-AV1 with every shot its own segment
(``--before``) and with consecutive shots under 1 s sharing one (``--after``, `jndenc.loop.short_groups`).

    python benchmarks/experiments/loop_groups.py --before A.json --after B.json \\
        --out benchmarks/results/loop_groups.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced,balanced@av1``) on the
same training and validation clips, run at the commit before the groups (cf3f2c6) and at the commit that added
them (0530d7d; reverted after this run, so the ``--after`` run needs a worktree at that commit), each process
pinned to its own core. Reported per row and run: shots, segments, encodes (FFmpeg runs of the loop),
encoded frames over output frames, bytes, worst shot and the share of shots <= 95.5 (VMAF per shot on the
finished file), and time over the plain CRF 23 encode of the same process (median and worst over clips).

Run it only on training and validation clips: the rule is judged here. Verdict: rejected (fewer encodes and
less time, but more bytes on both codecs and fewer shots <= 95.5: a segment steered by its worst shot
overshoots the others).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402

ROWS = ("balanced", "balanced@av1")


def measured(run: dict, row: str) -> dict:
    out, clips = pair.row_figures(run, row)
    out["segments"] = sum(r["loop"].get("segments", len(r["vmaf"])) for _, r in clips)
    out["encodes"] = sum(r["loop"].get("encodes", r["loop"]["attempts"]) for _, r in clips)
    out["per_clip"] = {c["clip"]: {"bytes": r["bytes"], "segments": r["loop"].get("segments", len(r["vmaf"])),
                                   "shots": len(r["vmaf"]),
                                   "wall_vs_plain": round(r["wall_s"] / c["plain"]["wall_s"], 2)}
                       for c, r in clips}
    return out


def main(argv=None) -> int:
    before, after, out_path = pair.load(__doc__, argv)
    out = {**pair.header(before), "rows": {}}
    for row in ROWS:
        b, a = measured(before, row), measured(after, row)
        a["bytes_vs_before_pct"] = pair.bytes_vs(a, b)
        out["rows"][row] = {"before": b, "after": a}
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    for row, d in out["rows"].items():
        for k, v in d.items():
            print(row, k, {x: y for x, y in v.items() if x != "per_clip"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
