"""Experiment behind one of the loop's choices: the bracket interpolation (jndenc.loop.BRACKET_SCALE headroom or vmaf), balanced on training/validation clips.

Not a benchmark of the current code: the knob it sets (BRACKET_SCALE) was removed once the choice was made. To
rerun it, check out commit e9b69ac, then `python benchmarks/experiments/loop_interp.py OUT.json`; its committed
result is `benchmarks/results/loop_interp.json` (benchmarks/README.md, "Effort levels", renders it).
"""
import json, sys, os, tempfile
from pathlib import Path
os.sched_setaffinity(0, {0})
import jndenc.loop as L
from jndenc.encode import encode
from jndenc.media.clips import prepare_source
from jndenc.media.probe import probe
from jndenc.verify import verify
C = Path("/work/shared/clips")
clips = ["dover_handheld_yard.mp4", "pyscenedetect_museum_doc.mp4", "asciivid_jjk_anime.mp4", "groundedsam2_cups.mp4", "samplevids_chromecast_blazes.mp4", "gopro_karma_drone_coast.mp4", "rerender_gradientportrait.mp4", "cinescope_dashboard_ui.mp4", "demo.mp4", "S001C001P001R001A001_rgb.avi", "night.mp4"]
out = {}
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for name in clips:
        info = probe(C / name, count_frames=False)
        src = prepare_source(C / name, tmp / f"{name}.mkv", 240, info.bit_depth)
        for mode in ("headroom", "vmaf"):
            L.BRACKET_SCALE = mode
            r = encode(src, tmp / "o.mp4", overwrite=True)
            shots = [(s.start_frame, s.end_frame) for s in r.plan.shots]
            q = verify(tmp / "o.mp4", src, shots, info.bit_depth, threads=1)
            d = r.to_dict()
            out[f"{name}:{mode}"] = {"bytes": r.bytes, "attempts": d["loop"]["attempts"], "shots": len(shots),
                                     "vmaf": [round(x.mean, 2) for x in q], "outcome": [s["outcome"] for s in d["shots"]],
                                     "seq": [[(a["crf"], a["vmaf"]) for a in s["attempts"]] for s in d["shots"]]}
            o = out[f"{name}:{mode}"]
            print(name, mode, o["bytes"], o["attempts"], o["shots"], min(o["vmaf"]), sum(v > 95.5 for v in o["vmaf"]), flush=True)
        json.dump(out, open(sys.argv[1] if len(sys.argv) > 1 else "loop_interp_runs.json", "w"), indent=1)
