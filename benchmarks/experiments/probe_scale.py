#!/usr/bin/env python3
"""Would a probe at a fraction of the frame size tell a shot's JND1 nearly as well as the shipped probe, for a
fraction of its cost? A study on the model card's labels, no label search rerun.

    python benchmarks/experiments/probe_scale.py --clips ../shared/clips --cache /tmp/probe_scale.json
    python benchmarks/experiments/probe_scale.py --cache /tmp/probe_scale.json --fit \\
        --out benchmarks/results/probe_scale.json

The shipped probe (`jndenc.media.probe_encode.SHIPPED_PROBE`) encodes the middle second of a shot with x264
medium at the frame model's JND1 estimate rounded, and scores every frame with VMAF: about a third of an
attempt's time on an 8 s shot, which is why starting the loop from it saved attempts but not time (benchmarks/
README.md, "A seventh"). Here the same window is encoded at the same CRF at the full size and at 1/2 and 1/4 of
each side (source and encode scaled alike, bicubic, as VMAF's model expects its inputs at one size), and each is
scored with VMAF against the source at that size. Per shot: the labelled JND1 (the model card's per-shot rows,
real clips only: derived crops and scalings and generated clips are left out), the frame model's estimate
(out of fold on the train and valid splits), and per size the probe's VMAF and CPU seconds (encode and score in
one FFmpeg run, from a lossless copy of the window so that decoding the input is not counted).

``--fit`` compares, by 5-fold cross-validation by parent clip over the train and valid splits, the model-free
rule ``CRF + (VMAF - 94)`` and a least-squares fit of JND1 on [CRF, VMAF, log headroom, log2 pixels] per size,
and reports the test split beside them (chosen on nothing).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SETS = (("cv", "weights/model_card_cv5.json"), ("test", "weights/model_card_test.json"))
SCALES = (1, 2, 4)
LABEL_SHOT_S = 4.0  # the label build's --max-shot-seconds (weights/MODEL_CARD.md, "Training data")
PROBE_S = 1.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _shots(clip: Path):
    from jndenc.analyze import analyze
    from jndenc.media.probe import probe
    from jndenc.media.shots import split_long

    info = probe(clip)
    return split_long(analyze(clip, info=info).shots, int(round(LABEL_SHOT_S * info.fps))), info


def _probe(ff: str, lossless: Path, crf: int, scale: int, w: int, h: int, tmp: Path) -> tuple[float, float]:
    sw, sh = (w // scale) // 2 * 2, (h // scale) // 2 * 2
    sc = f",scale={sw}:{sh}:flags=bicubic" if scale > 1 else ""
    log = tmp / f"v{scale}.json"
    args = [ff, "-v", "error", "-y", "-threads", "1", "-i", str(lossless), "-filter_complex",
            f"[0:v]format=yuv420p{sc},split[e][r0]", "-map", "[e]", "-c:v", "libx264", "-preset", "medium",
            "-crf", str(crf), "-threads", "1", str(tmp / f"p{scale}.mp4"),
            "-threads", "1", "-dec", "0:0", "-filter_complex",
            f"[dec:0]settb=1/25,setpts=N,format=yuv420p[d];[r0]settb=1/25,setpts=N,format=yuv420p[r];"
            f"[d][r]libvmaf=model=version=vmaf_v0.6.1:log_fmt=json:log_path={log}:n_threads=1[o]",
            "-map", "[o]", "-f", "null", "-"]
    c0 = _cpu()
    subprocess.run(args, check=True)
    cpu = _cpu() - c0
    frames = json.loads(log.read_text())["frames"]
    return float(np.mean([f["metrics"]["vmaf"] for f in frames])), cpu


def extract(args) -> int:
    from jndenc.media.ffbin import ffmpeg_exe
    from jndenc.media.probe_encode import centred_crfs, shot_windows

    ff = ffmpeg_exe()
    clips = {p.name: p for p in Path(args.clips).iterdir() if p.is_file()}
    rows = []
    for name, path in SETS:
        for r in json.loads((ROOT / path).read_text())["per_shot"]:
            if "~" in r["clip"] or r["clip"].startswith("pseudo_") or r["clip"] not in clips:
                continue
            rows.append({"set": name, "clip": r["clip"], "start_frame": r["start_frame"], "label": r["label"],
                         "model": r["model"], "probe_model": r["probe_model"]})
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    by_clip: dict[str, list[dict]] = {}
    for r in rows:
        by_clip.setdefault(r["clip"], []).append(r)
    for n, (clip, rs) in enumerate(sorted(by_clip.items())):
        todo = [r for r in rs if f"{clip}|{r['start_frame']}" not in cache]
        if not todo:
            continue
        shots, info = _shots(clips[clip])
        for r in todo:
            a = r["start_frame"]
            b = next((e for s, e in shots if s == a), None)
            if b is None:
                print(f"  {clip} {a}: no shot starts there, skipped", flush=True)
                continue
            (wa, wb), = shot_windows([(a, b)], info.fps, PROBE_S)
            crf = centred_crfs([r["model"][0]])[0]
            with tempfile.TemporaryDirectory() as t:
                tmp = Path(t)
                lossless = tmp / "win.mkv"
                subprocess.run([ff, "-v", "error", "-y", "-i", str(clips[clip]), "-map", "0:V:0", "-vf",
                                f"trim=start_frame={wa}:end_frame={wb},setpts=PTS-STARTPTS,format=yuv420p",
                                "-c:v", "ffv1", str(lossless)], check=True)
                got = {str(s): _probe(ff, lossless, crf, s, info.width, info.height, tmp) for s in SCALES}
            cache[f"{clip}|{a}"] = {**r, "end_frame": b, "window": [wa, wb], "crf": crf,
                                    "pixels": info.width * info.height,
                                    "probe": {s: {"vmaf": v, "cpu_s": c} for s, (v, c) in got.items()}}
            cache_path.write_text(json.dumps(cache))
        print(f"{n + 1}/{len(by_clip)} {clip}: {len(todo)} shots", flush=True)
    return 0


def _folds(groups: list[str], k: int = 5, seed: int = 0) -> np.ndarray:
    names = sorted(set(groups))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    fold = {names[i]: j % k for j, i in enumerate(order)}
    return np.array([fold[g] for g in groups])


def _fit(x: np.ndarray, y: np.ndarray, lam: float = 1e-2):
    mu, sd = x.mean(0), x.std(0) + 1e-9
    a = np.c_[(x - mu) / sd, np.ones(len(x))]
    reg = lam * len(x) * np.eye(a.shape[1])
    reg[-1, -1] = 0
    coef = np.linalg.solve(a.T @ a + reg, a.T @ y)
    return lambda z: np.c_[(z - mu) / sd, np.ones(len(z))] @ coef


def _design(rows: list[dict], scale: str) -> np.ndarray:
    v = np.array([r["probe"][scale]["vmaf"] for r in rows])
    c = np.array([r["crf"] for r in rows], float)
    return np.c_[c, v, np.log(100.5 - np.minimum(v, 100.0)), np.log2([r["pixels"] for r in rows])]


def fit(args) -> int:
    from jndenc.bench.report import git_commit

    cache = json.loads(Path(args.cache).read_text())
    cv = [r for r in cache.values() if r["set"] == "cv"]
    test = [r for r in cache.values() if r["set"] == "test"]
    y = np.array([r["label"][0] for r in cv])
    yt = np.array([r["label"][0] for r in test])
    folds = _folds([r["clip"] for r in cv])
    out = {"commit": git_commit(), "shots": {"cv": len(cv), "test": len(test)},
           "clips": {"cv": sorted({r["clip"] for r in cv}), "test": sorted({r["clip"] for r in test})}, "rows": []}

    def row(name, pred_cv, pred_test, cpu=None):
        e, et = pred_cv - y, pred_test - yt
        out["rows"].append({"estimate": name, "cv_mae": round(float(np.abs(e).mean()), 3),
                            "cv_bias": round(float(e.mean()), 3), "test_mae": round(float(np.abs(et).mean()), 3),
                            "test_bias": round(float(et.mean()), 3), "probe_cpu_s": cpu})
        print(out["rows"][-1])

    row("frame model", np.array([r["model"][0] for r in cv]), np.array([r["model"][0] for r in test]))
    row("probe model (shipped, full size)", np.array([r["probe_model"][0] for r in cv]),
        np.array([r["probe_model"][0] for r in test]))
    for s in map(str, SCALES):
        cpu = round(float(np.median([r["probe"][s]["cpu_s"] for r in cv + test])), 3)
        rule = lambda rs: np.array([r["crf"] + (r["probe"][s]["vmaf"] - 94.0) for r in rs])  # noqa: E731
        row(f"rule CRF + (VMAF - 94), 1/{s} size", rule(cv), rule(test), cpu)
        x, xt = _design(cv, s), _design(test, s)
        pred = np.empty_like(y)
        for f in np.unique(folds):
            pred[folds == f] = _fit(x[folds != f], y[folds != f])(x[folds == f])
        row(f"fit on CRF, VMAF, headroom, pixels, 1/{s} size", pred, _fit(x, y)(xt), cpu)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", default=str(ROOT.parent / "shared" / "clips"))
    ap.add_argument("--cache", required=True)
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    return fit(args) if args.fit else extract(args)


if __name__ == "__main__":
    sys.exit(main())
