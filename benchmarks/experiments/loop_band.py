#!/usr/bin/env python3
"""Would a wider band above the aim save attempts, and what would it cost? Replayed, no encode: every shot's
VMAF-vs-CRF curve through the attempts of every run on it (as `loop_start_shift.py`), the loop's own decisions
(`jndenc.loop.next_crf`, balanced's budget, aim and lower edge) replayed from the run's start with the band's
upper edge at each candidate (balanced's is the target + 1.0, thorough's + 0.5).

    python benchmarks/experiments/loop_band.py --first M.json --also A.json ... \\
        --out benchmarks/results/loop_band.json

``--first``: a `benchmarks/segments.py` run (rows ``crf23,balanced``) with `jndenc.loop.rise` (the model's slope
recovered as `loop_secant_cap.model_slope` does). A wider band accepts more first attempts (fewer attempts, fewer
frames encoded) and keeps shots higher (more bytes); the issue's rule asks for at least 90% of shots at or under
VMAF 95.5 on the finished file. Bytes are modelled as exp(-0.11 CRF), the frame-weighted attempts are what frames
encoded over output frames would be.

Run it only on training and validation clips: a band is chosen here.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_rise import BAND, BUDGET  # noqa: E402
from loop_secant_cap import model_slope  # noqa: E402
from loop_start_shift import Tally, clip_shots, load_runs, one_shot, write_replay  # noqa: E402

from jndenc import loop as L  # noqa: E402

ABOVE = (0.5, 0.75, 1.0, 1.25, 1.5)
TARGET = 94.0


def replay(shots: list, above: float) -> dict:
    band = L.Band.around(TARGET, below=TARGET - BAND.low, above=above, aim=BAND.aim - TARGET)
    t = Tally(band)
    for seq, pts, fr in shots:
        t.add(one_shot(seq, pts, 0.0, model_slope, band=band, bracket_extra=True), fr, bytes_by_frames=True)
    return {"above": above, "band": [round(band.low, 2), round(band.high, 2)],
            **t.figures("shots", "first_in_band", "attempts_per_shot", "frame_weighted_attempts", "kept_in_band",
                        "share_le_95_5", "worst_kept", "bytes_model")}


def main(argv=None) -> int:
    first, also, out_path = load_runs(__doc__, argv)
    shots = [(seq, pts, int(fr)) for c, per_shot in clip_shots(first, also)
             for (seq, pts), fr in zip(per_shot, c["rows"]["balanced"]["frames"])]
    rows = [replay(shots, a) for a in ABOVE]
    base = next(r["bytes_model"] for r in rows if r["above"] == 1.0)
    return write_replay(out_path, first, also, [p for _, p, _ in shots], rows, base, "bytes_vs_balanced_pct",
                        shots=len(shots), budget=BUDGET)


if __name__ == "__main__":
    sys.exit(main())
