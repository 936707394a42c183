"""Experiment behind one of the loop's choices: a short first piece per shot (LoopOptions.first_piece_seconds None,
1 or 2 s), balanced on validation clips (first 240 frames) and training/validation clips with long shots (600).

The later pieces start where the first piece's attempts put the aim, so the first attempts' misses cost a short
piece instead of the whole shot. Every output is measured per shot of the variant without first pieces (every
frame, `jndenc.verify`). Not a benchmark of the current code: the knob it sets (first_piece_seconds) was removed once the choice was made
(off). To rerun it, check out commit a92b5d0, then `python benchmarks/experiments/loop_first_piece.py OUT.json`; its
committed result is `benchmarks/results/loop_first_piece.json` (benchmarks/README.md, "Effort levels", renders it).
"""
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.sched_setaffinity(0, {int(os.environ.get("CPU", "1"))})
import jndenc.effort as E  # noqa: E402
from jndenc.bench.report import git_commit  # noqa: E402
from jndenc.encode import encode  # noqa: E402
from jndenc.media.clips import prepare_source  # noqa: E402
from jndenc.media.ffargs import encode_args  # noqa: E402
from jndenc.media.probe import probe  # noqa: E402
from jndenc.media.runner import run_ffmpeg  # noqa: E402
from jndenc.verify import verify  # noqa: E402

C = Path("/work/shared/clips")
CLIPS = [(n, 240) for n in ("dover_handheld_yard.mp4", "pyscenedetect_museum_doc.mp4", "asciivid_jjk_anime.mp4",
                            "groundedsam2_cups.mp4", "samplevids_chromecast_blazes.mp4", "gopro_karma_drone_coast.mp4",
                            "rerender_gradientportrait.mp4", "cinescope_dashboard_ui.mp4", "demo.mp4",
                            "dover_HyZMiWeJyMw_shaving.mp4")]
CLIPS += [(n, 600) for n in ("night.mp4", "highway_cif.mp4", "liveportrait_selfie_vert.mp4", "moviepy_airshow.mp4")]
VARIANTS = {"none": None, "1s": 1.0, "2s": 2.0}
base = E.EFFORTS["balanced"]
out = {"commit": git_commit(),
       "clips": {}}
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for name, frames in CLIPS:
        info = probe(C / name, count_frames=False)
        src = prepare_source(C / name, tmp / f"{name}.mkv", frames, info.bit_depth)
        t = time.perf_counter()
        run_ffmpeg(encode_args(src, tmp / "plain.mp4", encoder="libx264", preset="medium", crf=23), what="plain")
        rec = {"frames": frames, "plain_s": round(time.perf_counter() - t, 3),
               "plain_bytes": (tmp / "plain.mp4").stat().st_size, "variants": {}}
        shots = None
        for key, sec in VARIANTS.items():
            E.EFFORTS["balanced"] = dataclasses.replace(base, loop=dataclasses.replace(base.loop,
                                                                                          first_piece_seconds=sec))
            t = time.perf_counter()
            r = encode(src, tmp / "o.mp4", overwrite=True, jobs=1)
            wall = time.perf_counter() - t
            d = r.to_dict()
            if shots is None:
                shots = [(s["start_frame"], s["end_frame"]) for s in d["shots"]]
            q = verify(tmp / "o.mp4", src, shots, info.bit_depth, threads=1)
            rec["variants"][key] = {"bytes": r.bytes, "wall_s": round(wall, 3), "attempts": d["loop"]["attempts"],
                                    "encoded_over_output_frames": d["loop"]["encoded_over_output_frames"],
                                    "pieces": len(d["shots"]), "vmaf": [round(x.mean, 3) for x in q],
                                    "seq": [[(a["crf"], a["vmaf"]) for a in s["attempts"]] for s in d["shots"]],
                                    "outcome": [s["outcome"] for s in d["shots"]]}
            v = rec["variants"][key]
            print(name, key, v["bytes"], v["encoded_over_output_frames"], round(wall / rec["plain_s"], 2),
                  min(v["vmaf"]), sum(x > 95.5 for x in v["vmaf"]), flush=True)
        out["clips"][name] = rec
        json.dump(out, open(sys.argv[1], "w"), indent=1)
