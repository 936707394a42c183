#!/usr/bin/env python3
"""What the encoders' own key-frame intervals cost: balanced on SVT-AV1 and VP9 with each encoder's default
interval (``--before``: SVT-AV1 about 5 s, libvpx-vp9 128 frames) and with x264's 250 frames (``--after``,
`jndenc.media.segments.KEYINT`). Every segment starts with a key frame; a shorter interval adds one inside
every piece longer than it.

    python benchmarks/experiments/codec_keyint.py --before A.json --after B.json \\
        --out benchmarks/results/codec_keyint.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced@av1,balanced@vp9``) on
the same training and validation clips, at the commit before the change (4290b54) and the one that made it
(adc83d0), each process pinned to its own core. Reported per row and run: shots, attempts per shot, encoded
frames over output frames, bytes, worst shot, shots <= 95.5 (VMAF per shot on the finished file) and time over
the plain x264 CRF 23 encode of the same process.

Run it only on training and validation clips.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402

ROWS = ("balanced@av1", "balanced@vp9")


def measured(run: dict, row: str) -> dict:
    out, clips = pair.row_figures(run, row)
    out["attempts_per_shot"] = round(sum(r["loop"]["attempts"] for _, r in clips) / out["shots"], 3)
    out["per_clip"] = {c["clip"]: {"bytes": r["bytes"], "frames": sum(r["frames"])} for c, r in clips}
    return out


def main(argv=None) -> int:
    before, after, out_path = pair.load(__doc__, argv)
    rows = {}
    for row in ROWS:
        b, a = measured(before, row), measured(after, row)
        a["bytes_vs_before_pct"] = round(100 * (a["bytes"] / b["bytes"] - 1), 2)
        rows[row] = {"before": b, "after": a}
    out_path.write_text(json.dumps({**pair.header(before), "rows": rows}, indent=1) + "\n")
    print("\n".join(f"{row} {k}: {v['bytes']:,} bytes, worst {v['worst_shot']}, "
                    f"{v['attempts_per_shot']} attempts/shot, {v['wall_vs_plain_median']}x"
                    for row, d in rows.items() for k, v in d.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
