#!/usr/bin/env python3
"""Which frame statistics would fix the frame model's bias? A feature study on the model card's labels.

    python benchmarks/experiments/frame_features.py extract --clips ../shared/clips --cache /tmp/ff.json
    python benchmarks/experiments/frame_features.py fit --cache /tmp/ff.json \
        --out benchmarks/results/frame_features.json
    # generated clips of the missed types as extra training rows (issue 24, part 1)
    jndenc dataset synth /tmp/synth && jndenc dataset build /tmp/synth /tmp/synth_labels --preset medium \
        --trial-seconds 2 --workers 1 --max-shots-per-clip 2 --max-shot-seconds 4 --frames-per-shot 3 --seed 0
    python benchmarks/experiments/frame_features.py extract --cache /tmp/ff.json \
        --extra-labels /tmp/synth_labels/_work/labels.jsonl --extra-clips /tmp/synth
    python benchmarks/experiments/frame_features.py fit --cache /tmp/ff.json --train-extra \
        --out benchmarks/results/frame_features_synth.json

The labels are the model card's per-shot rows (``weights/model_card_cv5.json``: train + valid;
``weights/model_card_test.json``: test), so no label search is rerun. ``extract`` finds each labelled shot
again (the clip's shots as the label build cut them: `jndenc.analyze.analyze`, split at 10 s), takes the
middle 2 s the labels were measured on, applies the derivation of a derived clip (``~scale50``: Lanczos scale,
``~crop50``: centre crop) to the decoded frames, and computes candidate statistics on 8 frames of the window
and the frame before each:

- what the shipped frame model sees: SI, TI (on a 224-wide luma), the pixel count;
- what x264's rate control and VMAF react to and SI/TI do not see: the residual left after motion
  compensation (Farneback flow on a 320-wide luma), its share of the plain frame difference (a pan has a large
  TI and a small residual), the flow's magnitude, VMAF's own motion feature (mean absolute difference of
  5x5-blurred luma), the share of 8x8 DCT coefficients that survive a quantiser step of 8/16/32 in the frame and
  in its motion-compensated residual, a noise estimate, the share of flat 8x8 blocks, edge density, luma mean
  and contrast, frame rate.

``fit`` compares, by 5-fold cross-validation by parent clip over train + valid (the model card's protocol;
every choice, the ridge included, is made inside the training folds), a ridge on the shipped model's inputs
(SI, TI, size) with ridges on the candidate sets; generated clips (pseudo_*, not re-creatable without
scikit-image) are left out, derived clips train but only real clips judge, as in the model card. The test
split is reported for the winner chosen on CV, never used to choose. Errors are cut by content type
(``benchmarks/data/content_types.json``).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from jndenc.bench.report import git_commit  # noqa: E402
from jndenc.training.derive import Derivation, derived_size  # noqa: E402

SETS = (("cv", "weights/model_card_cv5.json"), ("test", "weights/model_card_test.json"))
K = 8
WINDOW_S = 2.0
MAX_SHOT_S = 10.0
SITI_W = 224
FLOW_W = 320


def parent_of(clip: str) -> tuple[str, str | None]:
    """(parent stem, derivation tag or None) of a row's clip name."""
    if "~" in clip:
        stem, tag = clip.split("~", 1)
        return stem, tag.rsplit(".", 1)[0]
    return clip.rsplit(".", 1)[0], None


def derive(img: np.ndarray, tag: str | None) -> np.ndarray:
    """A decoded frame as the derived copy ``tag`` (``scale50``, ``crop50``) holds it: the label build's sizes
    (`jndenc.training.derive.derived_size`), its centre crop, OpenCV's Lanczos for FFmpeg's."""
    if not tag:
        return img
    d = Derivation(tag.rstrip("0123456789"), int(tag[-2:]) / 100.0)
    h, w = img.shape[:2]
    nw, nh = derived_size(w, h, d)
    if d.kind == "scale":
        return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LANCZOS4)
    x, y = (w - nw) // 2 // 2 * 2, (h - nh) // 2 // 2 * 2
    return img[y:y + nh, x:x + nw]


def luma_at(y: np.ndarray, width: int) -> np.ndarray:
    h, w = y.shape
    if w <= width:
        return y.astype(np.float32)
    return cv2.resize(y, (width, max(2, round(h * width / w))), interpolation=cv2.INTER_AREA).astype(np.float32)


def dct_survive(y: np.ndarray, steps=(8, 16, 32)) -> list[float]:
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    b = y[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    if len(b) > 4000:
        b = b[np.linspace(0, len(b) - 1, 4000).astype(int)]
    c = np.stack([cv2.dct(np.ascontiguousarray(x)) for x in b.astype(np.float32)])
    ac = np.abs(c.reshape(len(c), -1)[:, 1:])
    return [float((ac > s).mean()) for s in steps]


def noise_sigma(y: np.ndarray) -> float:
    # Immerkaer's fast noise estimate: a Laplacian-difference kernel that cancels smooth structure
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    r = np.abs(cv2.filter2D(y, -1, k))[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * r.mean() / 6.0)


def frame_stats(cur: np.ndarray, prev: np.ndarray) -> dict[str, float]:
    """Statistics of one frame (BGR uint8 at the clip's size) and the frame before it."""
    yc = cv2.cvtColor(cur, cv2.COLOR_BGR2GRAY)
    yp = cv2.cvtColor(prev, cv2.COLOR_BGR2GRAY)
    s_c, s_p = luma_at(yc, SITI_W), luma_at(yp, SITI_W)
    sob = np.hypot(cv2.Sobel(s_c, cv2.CV_32F, 1, 0), cv2.Sobel(s_c, cv2.CV_32F, 0, 1))
    f_c, f_p = luma_at(yc, FLOW_W), luma_at(yp, FLOW_W)
    flow = cv2.calcOpticalFlowFarneback(f_p.astype(np.uint8), f_c.astype(np.uint8), None,
                                        0.5, 3, 15, 3, 5, 1.2, 0)
    h, w = f_c.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(f_p, gx - flow[..., 0], gy - flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    res = f_c - warped
    diff = np.abs(f_c - f_p).mean()
    g_c, g_p = cv2.GaussianBlur(f_c, (5, 5), 1.0), cv2.GaussianBlur(f_p, (5, 5), 1.0)
    blocks = f_c[:h // 8 * 8, :w // 8 * 8].reshape(h // 8, 8, w // 8, 8).std(axis=(1, 3))
    out = {"si": float(sob.std()), "ti": float((s_c - s_p).std()),
           "mc_res": float(np.abs(res).mean()), "frame_diff": float(diff),
           "flow_mag": float(np.hypot(flow[..., 0], flow[..., 1]).mean()),
           "vmaf_motion": float(np.abs(g_c - g_p).mean()),
           "noise": noise_sigma(f_c), "flat_share": float((blocks < 1.5).mean()),
           "block_std": float(blocks.mean()),
           "edges": float((cv2.Canny(f_c.astype(np.uint8), 50, 150) > 0).mean()),
           "luma_mean": float(f_c.mean()), "luma_std": float(f_c.std())}
    for s, v in zip((8, 16, 32), dct_survive(f_c)):
        out[f"dct{s}"] = v
    for s, v in zip((8, 16), dct_survive(res + 128.0, (8, 16))):
        out[f"res_dct{s}"] = v
    return out


def shots_of(clip: Path) -> tuple[list[tuple[int, int]], float]:
    from jndenc.analyze import analyze
    from jndenc.media.probe import probe
    from jndenc.media.shots import split_long

    info = probe(clip)
    return split_long(analyze(clip, info=info).shots, int(round(MAX_SHOT_S * info.fps))), info.fps


def extract(args) -> int:
    from jndenc.media.decode import iter_frames
    from jndenc.media.ffargs import trial_window
    from jndenc.training.siti import sample_positions

    clips = {p.stem: p for p in Path(args.clips).iterdir() if p.is_file()}
    rows = []
    for name, path in SETS:
        for r in json.loads((ROOT / path).read_text())["per_shot"]:
            stem, tag = parent_of(r["clip"])
            if stem.startswith("pseudo_") or stem not in clips:
                continue
            rows.append({"set": name, "clip": r["clip"], "parent": clips[stem].name, "tag": tag,
                         "start_frame": r["start_frame"], "label": r["label"],
                         "model": r["model"], "probe_model": r["probe_model"]})
    for extra in args.extra_labels or []:  # generated clips a `jndenc dataset build` labelled: they train, never judge
        for line in Path(extra).read_text().splitlines():
            r = json.loads(line)
            clips.setdefault(Path(r["clip"]).stem, Path(args.extra_clips) / r["clip"])
            rows.append({"set": "extra", "clip": r["clip"], "parent": r["clip"], "tag": None,
                         "start_frame": r["start_frame"], "label": [float(x) for x in r["jnd"]],
                         "model": [float("nan")] * 3, "probe_model": [float("nan")] * 3})
    cache = json.loads(Path(args.cache).read_text()) if Path(args.cache).is_file() else {}
    by_parent = defaultdict(list)
    for r in rows:
        by_parent[r["parent"]].append(r)
    for n, (parent, rs) in enumerate(sorted(by_parent.items())):
        todo = [r for r in rs if f"{r['clip']}|{r['start_frame']}" not in cache]
        if not todo:
            continue
        shots, fps = shots_of(clips[Path(parent).stem])
        want = {}
        for r in todo:
            a = r["start_frame"]
            b = next((e for s, e in shots if s == a), None)
            if b is None:  # a derived clip cut differently: the original's shot that holds the start
                b = next((e for s, e in shots if s <= a < e), a + int(MAX_SHOT_S * fps))
            win = trial_window(b - a, WINDOW_S, fps)
            lo, hi = (a + win[0], a + win[1]) if win else (a, b)
            want[(r["clip"], a)] = (r, sample_positions(lo, hi, K))
        need = {p for _, pos in want.values() for p in pos} | {p - 1 for _, pos in want.values() for p in pos}
        frames = {}
        last = max(need)
        for fr in iter_frames(clips[Path(parent).stem]):
            if fr.index in need:
                frames[fr.index] = fr.image
            if fr.index >= last:
                break
        for (clip, a), (r, pos) in want.items():
            stats = [frame_stats(derive(frames[p], r["tag"]), derive(frames.get(p - 1, frames[p]), r["tag"]))
                     for p in pos if p in frames]
            h, w = derive(frames[pos[0]], r["tag"]).shape[:2]
            feat = {k: float(np.mean([s[k] for s in stats])) for k in stats[0]}
            feat.update({"pixels": float(w * h), "fps": float(fps)})
            cache[f"{clip}|{a}"] = {**{k: r[k] for k in ("set", "clip", "parent", "start_frame", "label", "model",
                                                          "probe_model")}, "features": feat}
        Path(args.cache).write_text(json.dumps(cache))
        print(f"{n + 1}/{len(by_parent)} {parent}: {len(todo)} shots", flush=True)
    return 0


# --- fitting ---------------------------------------------------------------------------------------------------

def design(f: dict, names: tuple[str, ...]) -> list[float]:
    """Features as the ridge sees them: logs of the skewed ones (counts, energies, shares)."""
    out = []
    for n in names:
        v = f.get(n, 0.0)
        if n in ("pixels", "fps", "si", "ti", "mc_res", "frame_diff", "flow_mag", "vmaf_motion", "noise",
                 "block_std"):
            v = np.log(v + 1e-3)
        elif n == "mc_ratio":
            v = np.log((f["mc_res"] + 0.1) / (f["frame_diff"] + 0.1))
        elif n in ("dct8", "dct16", "dct32", "res_dct8", "res_dct16", "flat_share", "edges"):
            v = np.log(v + 1e-3)
        out.append(float(v))
    return out


FEATURE_SETS = {
    "shipped inputs (SI, TI, size)": ("si", "ti", "pixels"),
    "+ motion-compensated residual": ("si", "ti", "pixels", "mc_res", "mc_ratio", "flow_mag", "vmaf_motion"),
    "+ DCT survival": ("si", "ti", "pixels", "dct8", "dct16", "dct32"),
    "+ residual DCT survival": ("si", "ti", "pixels", "res_dct8", "res_dct16", "mc_res", "mc_ratio"),
    "+ noise, flat, edges, luma": ("si", "ti", "pixels", "noise", "flat_share", "edges", "luma_mean", "luma_std",
                                   "block_std"),
    "all": ("si", "ti", "pixels", "fps", "mc_res", "mc_ratio", "flow_mag", "vmaf_motion", "dct8", "dct16", "dct32",
            "res_dct8", "res_dct16", "noise", "flat_share", "edges", "luma_mean", "luma_std", "block_std"),
}
RIDGES = (0.01, 0.1, 1.0, 10.0, 100.0)


def ridge_fit(x: np.ndarray, y: np.ndarray, lam: float):
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    reg = lam * np.eye(z.shape[1])
    reg[-1, -1] = 0.0
    w = np.linalg.solve(z.T @ z + reg, z.T @ y)
    return lambda xx: np.c_[(xx - mu) / sd, np.ones(len(xx))] @ w


def folds_of(groups: list[str], k: int, seed: int) -> np.ndarray:
    from jndenc.training.probe_fit import group_folds
    return group_folds(groups, k, seed)


def fit_choose(x: np.ndarray, y: np.ndarray, groups: list[str]):
    """The ridge picked by an inner group 3-fold CV on these rows only, refitted on all of them."""
    f = folds_of(groups, 3, 1)
    best = None
    for lam in RIDGES:
        err = 0.0
        for k in range(3):
            tr, te = f != k, f == k
            err += np.abs(ridge_fit(x[tr], y[tr], lam)(x[te]) - y[te]).sum()
        if best is None or err < best[0]:
            best = (err, lam)
    return ridge_fit(x, y, best[1]), best[1]


def summarise(rows: list[dict], pred: np.ndarray, types: dict[str, str]) -> dict:
    real = [i for i, r in enumerate(rows) if "~" not in r["clip"]]
    err = pred - np.array([r["label"][0] for r in rows])
    by = defaultdict(list)
    for i in real:
        by[types.get(rows[i]["parent"], "natural")].append(err[i])
    return {"mae": round(float(np.abs(err).mean()), 3), "shots": len(rows),
            "mae_real": round(float(np.abs(err[real]).mean()), 3), "bias_real": round(float(err[real].mean()), 3),
            "shots_real": len(real),
            "by_type": {t: {"shots": len(v), "bias": round(float(np.mean(v)), 2), "mae": round(float(np.mean(np.abs(v))), 2)}
                        for t, v in sorted(by.items())}}


def fit(args) -> int:
    cache = json.loads(Path(args.cache).read_text())
    types = json.loads((ROOT / "benchmarks/data/content_types.json").read_text())["clips"]
    cv = sorted((r for r in cache.values() if r["set"] == "cv"), key=lambda r: (r["clip"], r["start_frame"]))
    test = sorted((r for r in cache.values() if r["set"] == "test"), key=lambda r: (r["clip"], r["start_frame"]))
    groups = [r["parent"] for r in cv]
    y = np.array([r["label"][0] for r in cv])
    folds = folds_of(groups, 5, 0)
    extra = sorted((r for r in cache.values() if r["set"] == "extra" and args.train_extra),
                   key=lambda r: (r["clip"], r["start_frame"]))

    def train(names, x, yy, gg):
        """`fit_choose` on these rows plus every generated row (``--train-extra``: they train, never judge)."""
        if not extra:
            return fit_choose(x, yy, gg)
        xe = np.array([design(r["features"], names) for r in extra])
        return fit_choose(np.r_[x, xe], np.r_[yy, [r["label"][0] for r in extra]], gg + [r["parent"] for r in extra])

    out = {"cv": {}, "test": {}, "clips": {"cv": sorted({r["parent"] for r in cv}),
                                           "test": sorted({r["parent"] for r in test})}}
    shipped = np.array([r["model"][0] for r in cv])
    out["cv"]["shipped frame model (as in the model card)"] = summarise(cv, shipped, types)
    out["cv"]["probe mode (as in the model card)"] = summarise(cv, np.array([r["probe_model"][0] for r in cv]), types)
    for name, names in FEATURE_SETS.items():
        x = np.array([design(r["features"], names) for r in cv])
        pred = np.empty(len(cv))
        lams = []
        for k in range(5):
            tr, te = folds != k, folds == k
            m, lam = train(names, x[tr], y[tr], [g for g, t in zip(groups, tr) if t])
            pred[te] = m(x[te])
            lams.append(lam)
        out["cv"][name] = {**summarise(cv, pred, types), "ridges": lams}
    # leave one content type out: every parent clip of a type is held out together, trained on the other
    # types (derived copies go with their parent), the protocol for "types you did not tune on"
    ctype = [types.get(g, "natural") for g in groups]
    for name, names in FEATURE_SETS.items():
        x = np.array([design(r["features"], names) for r in cv])
        pred = np.empty(len(cv))
        for t in sorted(set(ctype)):
            tr = np.array([c != t for c in ctype])
            m, _ = train(names, x[tr], y[tr], [g for g, k in zip(groups, tr) if k])
            pred[~tr] = m(x[~tr])
        out.setdefault("loto", {})[name] = summarise(cv, pred, types)
    best = min(FEATURE_SETS, key=lambda n: out["cv"][n]["mae"])
    out["chosen_on_cv"] = best
    for key, name in (("model", "shipped frame model (as in the model card)"),
                      ("probe_model", "probe mode (as in the model card)")):
        out["test"][name] = summarise(test, np.array([r[key][0] for r in test]), types)
    for name, names in FEATURE_SETS.items():  # every set, so the chosen one is read beside the rest
        x = np.array([design(r["features"], names) for r in cv])
        m, lam = train(names, x, y, groups)
        xt = np.array([design(r["features"], names) for r in test])
        out["test"][name] = {**summarise(test, m(xt), types), "ridge": lam}
    out["commit"] = git_commit() or ""
    if extra:
        out["generated_training_shots"] = len(extra)
        out["clips"]["generated"] = sorted({r["parent"] for r in extra})
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    for part in ("cv", "loto", "test"):
        for n, s in out[part].items():
            print(f"{part:4s} {n:45s} MAE {s['mae']:.2f} real {s['mae_real']:.2f} bias {s['bias_real']:+.2f} "
                  + " ".join(f"{t[:6]}:{v['bias']:+.1f}/{v['mae']:.1f}" for t, v in s["by_type"].items()))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--clips", default=str(ROOT.parent / "shared" / "clips"))
    e.add_argument("--cache", required=True)
    e.add_argument("--extra-labels", nargs="*", help="labels.jsonl of a `jndenc dataset build` over generated clips")
    e.add_argument("--extra-clips", help="the folder those clips are in")
    f = sub.add_parser("fit")
    f.add_argument("--cache", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--train-extra", action="store_true", help="generated clips' rows join every training set")
    args = ap.parse_args(argv)
    return extract(args) if args.cmd == "extract" else fit(args)


if __name__ == "__main__":
    sys.exit(main())
