#!/usr/bin/env python3
"""Shot detectors compared: hand-written ``content`` vs PySceneDetect's ContentDetector and AdaptiveDetector.

    taskset -c 0 python benchmarks/shots.py [--clips ../shared/clips] [--max-frames 300] [--out benchmarks/shots.json]

Every detector sees the same frames, decoded once per clip by
`jndenc.media.decode.iter_frames` at the analysis size (256x144, the shipped
model's input), exactly as `jndenc.analyze` feeds them; only the detectors'
``process`` calls are timed, and decode time per frame is reported beside them
for scale. Settings are those `analyze` uses by default: each detector's own
threshold, minimum shot length 0.5 s.

(a) Generated clips (FFmpeg), ground truth known:
    * cut clips: concatenated lavfi sources; 40-frame segments of different
      shared clips (some pairs dark/dark or low contrast); pans over three
      different stills joined by hard cuts. A found cut within +-TOL frames of a
      true one is a hit; recall = hits / true cuts; other found cuts are false.
    * motion clips, no cut: pans over a still image at 4..32 px/frame (at
      320 px width), a diagonal pan, a zoom in. Every found cut is false.
(b) Shared clips (first --max-frames frames): cuts found by each detector,
    pairwise agreement (share of cuts the other detector also found, +-TOL),
    and, for the clips in LABELS (cuts marked by eye from the frames around
    every cut any detector reported), recall and false cuts.

Writes a JSON (summary per detector, ratios against ``content`` measured in
the same run, and every clip's cuts).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jndenc.bench.report import machine
from jndenc.fileio import json_safe
from jndenc.media.decode import iter_frames
from jndenc.media.ffbin import ffmpeg_exe
from jndenc.media.probe import probe
from jndenc.media.shots import DETECTORS, make_detector

SIZE = (256, 144)  # analysis size: the shipped model's input (weights/jndenc_compact.keras.json)
TOL = 1
BASELINE = "content"
W, H, FPS = 320, 180, 25

# Shared clips whose cuts (within the first 300 frames) were marked by eye from
# contact sheets of the frames around every cut any detector reported.
LABELS: dict[str, list[int]] = {
    # container/foreman alternating, shot lengths 1, 1, 2, 2, 3, ... frames, a new cycle at 210
    "LS_SVA_D.mp4": [1, 2, 4, 6, 9, 12, 16, 20, 25, 30, 36, 42, 49, 56, 64, 72, 81, 90, 100, 110, 121, 132, 144,
                     156, 169, 182, 196, 210, 211, 212, 214, 216, 219, 222, 226, 230, 235, 240, 246, 253, 259, 266,
                     274, 282, 291],
    "short_hamilton_clip.mp4": [20, 82, 211],  # wide -> profile close-up (which pans) -> mid shot -> audience
    "moviepy_chaplin.mp4": [],  # its first 241 frames are one static street shot
    "pyscenedetect_castle1080.mkv": [19],  # aerial of the walls -> the boat under the arch
    "propainter_snowcar.mp4": [100, 271],  # both cuts on motion-blurred rally cars, 271 through a snow spray
    "cotracker_teddy_phone.mp4": [],  # handheld, one shot, textured background
    "moviepy_airshow.mp4": [],  # handheld pan, ends in a fade to near black
    "propainter_bmxgraffiti.mp4": [],  # a pan following the rider past graffiti
}

def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def _encode(graph: str, inputs: list[str], out: Path) -> Path:
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12",
           "-pix_fmt", "yuv420p", str(out))
    return out


def _norm(label: str) -> str:
    """Any input -> W x H, FPS, square pixels (pad keeps aspect)."""
    return (f"fps={FPS},scale={W}:{H}:force_original_aspect_ratio=decrease,pad={W}:{H}:(ow-iw)/2:(oh-ih)/2,"
            f"setsar=1,format=yuv420p{label}")


def lavfi_concat(out: Path, seg: int = 50) -> tuple[Path, list[int]]:
    srcs = [("testsrc2", "", ""), ("mandelbrot", "", ""), ("smptehdbars", "", ""), ("cellauto", ":rule=110", ""),
            ("life", ":mold=10:ratio=0.3", ""), ("rgbtestsrc", "", ""), ("testsrc", "", "hue=h=90,")]
    inputs, graph = [], ""
    for i, (src, opts, post) in enumerate(srcs):
        inputs += ["-f", "lavfi", "-i", f"{src}=size={W}x{H}:rate={FPS}{opts}"]
        graph += f"[{i}:v]{post}trim=end_frame={seg},setpts=PTS-STARTPTS,{_norm('')}[v{i}];"
    graph += "".join(f"[v{i}]" for i in range(len(srcs))) + f"concat=n={len(srcs)}:v=1:a=0[v]"
    return _encode(graph, inputs, out), [seg * i for i in range(1, len(srcs))]


def shared_concat(out: Path, clips: Path, seg: int = 40) -> tuple[Path, list[int]]:
    # neighbours chosen so some cuts are hard for a content score: dark->dark, low contrast, talking heads
    names = ["akiyo.mp4", "coastguard.mp4", "night.mp4", "dover_night_tiny.mp4", "liveportrait_woman.mp4",
             "liveportrait_palmsdark.mp4", "moviepy_sintel_snow.mp4", "cotracker_davis_bear.mp4",
             "gopro_karma_drone_coast.mp4", "highway_cif.mp4"]
    inputs, graph = [], ""
    for i, n in enumerate(names):
        inputs += ["-i", str(clips / n)]
        graph += f"[{i}:v]{_norm('')},trim=end_frame={seg},setpts=PTS-STARTPTS[v{i}];"
    graph += "".join(f"[v{i}]" for i in range(len(names))) + f"concat=n={len(names)}:v=1:a=0[v]"
    return _encode(graph, inputs, out), [seg * i for i in range(1, len(names))]


def _still(clips: Path, name: str, out: Path) -> Path:
    ffmpeg("-i", str(clips / name), "-frames:v", "1", "-vf", "scale=1920:1080,setsar=1", str(out))
    return out


def pan(out: Path, still: Path, speed: float, frames: int = 100, dy: float = 0.0) -> Path:
    """A 640x360 window moving ``speed`` px/frame (1080p px) across a 1920x1080 still, scaled to W x H.

    The window turns back at the image's edge (triangle wave), like a camera
    panning back and forth: no jump, so no frame here starts a new shot.
    """
    tri = "{m}-abs(mod(n*{v},2*{m})-{m})"
    x, y = tri.format(m=1280, v=speed), tri.format(m=720, v=dy)
    graph = (f"[0:v]loop=loop=-1:size=1:start=0,fps={FPS},trim=end_frame={frames},setpts=PTS-STARTPTS,"
             f"crop=640:360:x='{x}':y='{y}',{_norm('[v]')}")
    return _encode(graph, ["-i", str(still)], out)


def zoom(out: Path, still: Path, frames: int = 100) -> Path:
    graph = (f"[0:v]zoompan=z='1+on*0.01':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d={frames}:s={W}x{H}:fps={FPS},"
             f"{_norm('[v]')}")
    return _encode(graph, ["-i", str(still)], out)


def pan_cuts(out: Path, stills: list[Path], seg: int = 60, speed: float = 12) -> tuple[Path, list[int]]:
    inputs, graph = [], ""
    for i, s in enumerate(stills):
        inputs += ["-i", str(s)]
        graph += (f"[{i}:v]loop=loop=-1:size=1:start=0,fps={FPS},trim=end_frame={seg},setpts=PTS-STARTPTS,"
                  f"crop=640:360:x='n*{speed}':y=300,{_norm('')}[v{i}];")
    graph += "".join(f"[v{i}]" for i in range(len(stills))) + f"concat=n={len(stills)}:v=1:a=0[v]"
    return _encode(graph, inputs, out), [seg * i for i in range(1, len(stills))]


def decode(path: Path, max_frames: int) -> tuple[list[np.ndarray], float, float]:
    """Frames at the analysis size, seconds of decode, fps."""
    fps = probe(path).fps or 25.0
    frames = []
    t0 = time.perf_counter()
    for fr in iter_frames(path, size=SIZE):
        frames.append(fr.image)
        if len(frames) >= max_frames:
            break
    return frames, time.perf_counter() - t0, fps


def run_detectors(frames: list[np.ndarray], fps: float) -> dict:
    out = {}
    for name in DETECTORS:
        det = make_detector(name, fps=fps, min_shot_frames=round(0.5 * fps))
        t0 = time.perf_counter()
        cuts = []
        for i, im in enumerate(frames):
            cuts += det.process(i, im)
        cuts += det.finish()
        out[name] = {"cuts": sorted(set(cuts)), "seconds": time.perf_counter() - t0}
    return out


def match(found: list[int], truth: list[int], tol: int = TOL) -> int:
    """Hits: true cuts with a found cut within +-tol (each found cut used once)."""
    left = list(found)
    hits = 0
    for t in truth:
        near = [f for f in left if abs(f - t) <= tol]
        if near:
            left.remove(min(near, key=lambda f: abs(f - t)))
            hits += 1
    return hits


def scores(rows: list[dict], detector: str) -> dict:
    """Recall and false cuts of ``detector`` over clips with known cuts (``truth``; an empty list: a clip with
    motion and no cut, where every cut found is false)."""
    cut_rows = [r for r in rows if r["truth"]]
    motion_rows = [r for r in rows if not r["truth"]]
    true_n = sum(len(r["truth"]) for r in cut_rows)
    hits = sum(match(r["cuts"][detector], r["truth"]) for r in cut_rows)
    return {
        "true_cuts": true_n, "hits": hits, "recall": hits / true_n if true_n else None,
        "false_cuts_in_cut_clips": sum(len(r["cuts"][detector]) for r in cut_rows) - hits,
        "motion_clips": len(motion_rows),
        "false_cuts_on_motion": sum(len(r["cuts"][detector]) for r in motion_rows),
        "motion_clips_with_false_cuts": sum(1 for r in motion_rows if r["cuts"][detector]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "clips")
    ap.add_argument("--max-frames", type=int, default=300)
    ap.add_argument("--only", nargs="*", default=None, help="shared clip names (default: all)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("shots.json"))
    args = ap.parse_args(argv)

    gen, shared = [], []
    frames_total = 0
    decode_s = 0.0
    det_s = {d: 0.0 for d in DETECTORS}

    def record(name, path, truth, kind, max_frames=args.max_frames):
        nonlocal frames_total, decode_s
        frames, dt, fps = decode(path, max_frames)
        res = run_detectors(frames, fps)
        frames_total += len(frames)
        decode_s += dt
        for d in DETECTORS:
            det_s[d] += res[d]["seconds"]
        row = {"clip": name, "kind": kind, "frames": len(frames), "fps": fps, "truth": truth,
               "cuts": {d: res[d]["cuts"] for d in DETECTORS}}
        print(f"{name:40s} {len(frames):4d} truth={truth} " +
              " ".join(f"{d}={res[d]['cuts']}" for d in DETECTORS), flush=True)
        return row

    with tempfile.TemporaryDirectory() as td:
        t = Path(td)
        stills = [_still(args.clips, n, t / f"still{i}.png") for i, n in
                  enumerate(["pyscenedetect_castle1080.mkv", "VID_1920x1080_cabac_temporal_direct.264",
                             "gopro_karma_drone_coast.mp4"])]
        p, truth = lavfi_concat(t / "lavfi_concat.mp4")
        gen.append(record("gen:lavfi_concat", p, truth, "cuts", 10**6))
        p, truth = shared_concat(t / "shared_concat.mp4", args.clips)
        gen.append(record("gen:shared_concat", p, truth, "cuts", 10**6))
        p, truth = pan_cuts(t / "pan_cuts.mp4", stills)
        gen.append(record("gen:pan_cuts", p, truth, "cuts", 10**6))
        for i, s in enumerate(stills[:2]):
            for speed in (8, 24, 48, 64):  # 1080p px/frame = 4, 12, 24, 32 px/frame at 320 px width
                gen.append(record(f"gen:pan{i}_{speed // 2}px", pan(t / f"pan{i}_{speed}.mp4", s, speed), [],
                                  "motion"))
            gen.append(record(f"gen:pan{i}_diag", pan(t / f"pan{i}_diag.mp4", s, 24, dy=16), [], "motion"))
            gen.append(record(f"gen:zoom{i}", zoom(t / f"zoom{i}.mp4", s), [], "motion"))

    names = args.only or sorted(p.name for p in args.clips.iterdir() if p.suffix.lower() in
                                {".mp4", ".mkv", ".avi", ".webm", ".264", ".mov"})
    for n in names:
        truth = LABELS.get(n)
        shared.append(record(n, args.clips / n, truth, "labelled" if truth is not None else "unlabelled"))

    summary = {}
    for d in DETECTORS:
        s = {}
        for group, rows in [("generated", gen), ("shared_labelled", [r for r in shared if r["truth"] is not None])]:
            s[group] = scores(rows, d)
        s["shared_cuts_total"] = sum(len(r["cuts"][d]) for r in shared)
        s["us_per_frame"] = 1e6 * det_s[d] / frames_total
        s["time_vs_content"] = det_s[d] / det_s[BASELINE]
        summary[d] = s
    agreement = {}
    for a in DETECTORS:
        for b in DETECTORS:
            if a < b:
                na = sum(len(r["cuts"][a]) for r in shared)
                nb = sum(len(r["cuts"][b]) for r in shared)
                agreement[f"{a}|{b}"] = {
                    f"{a}_found_by_{b}": sum(match(r["cuts"][b], r["cuts"][a]) for r in shared) / na if na else None,
                    f"{b}_found_by_{a}": sum(match(r["cuts"][a], r["cuts"][b]) for r in shared) / nb if nb else None,
                }
    result = {
        "what": "shot detectors on the same decoded frames at the analysis size; see benchmarks/shots.py",
        "command": "taskset -c 0 python benchmarks/shots.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(), "analysis_size": list(SIZE), "tolerance_frames": TOL,
        "max_frames_per_shared_clip": args.max_frames, "min_shot_seconds": 0.5,
        "decode_us_per_frame": 1e6 * decode_s / frames_total, "frames": frames_total,
        "summary": summary, "agreement_shared": agreement, "generated": gen, "shared": shared,
    }
    args.out.write_text(json.dumps(json_safe(result), indent=1) + "\n")
    print(f"\nframes {frames_total}, decode {result['decode_us_per_frame']:.0f} us/frame at {SIZE[0]}x{SIZE[1]}")
    for d, s in summary.items():
        g, l = s["generated"], s["shared_labelled"]
        print(f"{d:22s} gen recall {g['hits']}/{g['true_cuts']}  false(cut clips) {g['false_cuts_in_cut_clips']}  "
              f"false(motion) {g['false_cuts_on_motion']} in {g['motion_clips_with_false_cuts']}/{g['motion_clips']}"
              f" | shared labelled recall {l['hits']}/{l['true_cuts']} false {l['false_cuts_in_cut_clips']}"
              f" motion-false {l['false_cuts_on_motion']} | {s['us_per_frame']:.0f} us/frame "
              f"(x{s['time_vs_content']:.2f} vs {BASELINE})")
    print(json.dumps(agreement, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
