"""Experiment behind one of the loop's choices: the lead shots' start shift (LoopOptions.shift_share 0, 0.5, 1.0), balanced on training/validation clips.

Not a benchmark of the current code: the knob it sets (shift_share) was removed once the choice was made. To
rerun it, check out commit 1b2ea11, then `python benchmarks/experiments/loop_shift.py OUT.json`; its committed
result is `benchmarks/results/loop_shift.json` (benchmarks/README.md, "Effort levels", renders it).
"""
import json, sys, os, tempfile, dataclasses
from pathlib import Path
os.sched_setaffinity(0, {0})
import jndenc.effort as E
from jndenc.encode import encode
from jndenc.media.clips import prepare_source
from jndenc.media.probe import probe
from jndenc.verify import verify
C = Path("/work/shared/clips")
clips = ["dover_handheld_yard.mp4", "asciivid_jjk_anime.mp4", "pyscenedetect_museum_doc.mp4", "moviepy_chaplin.mp4", "short_hamilton_clip.mp4", "test_video_structuralize.mp4"]
out = {}
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for name in clips:
        info = probe(C / name, count_frames=False)
        src = prepare_source(C / name, tmp / f"{name}.mkv", 240, info.bit_depth)
        for share in (0.0, 0.5, 1.0):
            base = E.EFFORTS["balanced"]
            E.EFFORTS["balanced"] = dataclasses.replace(base, loop=dataclasses.replace(base.loop, shift_share=share))
            r = encode(src, tmp / "o.mp4", overwrite=True)
            E.EFFORTS["balanced"] = base
            shots = [(s.start_frame, s.end_frame) for s in r.plan.shots]
            q = verify(tmp / "o.mp4", src, shots, info.bit_depth, threads=1)
            d = r.to_dict()
            out[f"{name}:{share}"] = {"bytes": r.bytes, "attempts": d["loop"]["attempts"], "enc": d["loop"]["encoded_over_output_frames"],
                                      "vmaf": [round(x.mean, 2) for x in q], "seq": [[(a["crf"], a["vmaf"]) for a in s["attempts"]] for s in d["shots"]]}
            print(name, share, out[f"{name}:{share}"]["bytes"], out[f"{name}:{share}"]["attempts"], out[f"{name}:{share}"]["enc"], min(out[f"{name}:{share}"]["vmaf"]), flush=True)
json.dump(out, open(sys.argv[1] if len(sys.argv) > 1 else "loop_shift_runs.json", "w"), indent=1)
