"""Probe features for labelled shots: the cheap probe (`jndenc.media.probe_encode`) of every journalled shot.

    python -m jndenc.training.probe_features DATASET CLIPS_DIR [CLIPS_DIR ...] [--config PRESET:QP ...]
        [--config PRESET:crf@frame --frame-weights weights/jndenc_compact.keras]

DATASET is a `jndenc dataset build` folder (its journal ``_work/labels.jsonl``
lists the shots). Each shot is probed on the middle of the window its labels
were measured on (`jndenc.media.ffargs.trial_window`; the setting's window
seconds, at most the build's), for every probe setting asked for. A centred
setting (``crf@frame``) encodes each shot at the frame model's JND1 estimate
(`jndenc.training.shots.centre_estimates`: out-of-fold for train and
valid shots, ``--frame-weights``' for test shots). The scores are cached in
``DATASET/probe_features.json`` (or ``--cache``): a rerun probes only shots
or settings not cached yet, so adding shots to a dataset costs only theirs.
Several settings on one clip share one lossless copy of its windows
(`extract_windows`), so comparing settings decodes the clip once.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from ..fileio import write_text_atomic
from ..media.clips import list_clips
from ..media.probe import probe
from ..media.probe_encode import SHIPPED_PROBE, ProbeOptions, centred_crfs, extract_windows, run_probe, shot_windows
from .shots import centre_estimates, shot_key

CACHE_NAME = "probe_features.json"
CACHE_VERSION = 1


def read_journal(dataset: str | os.PathLike) -> list[dict]:
    """The labelled shots of a build (one record per shot; a line cut by a kill is skipped)."""
    out = {}
    for line in (Path(dataset) / "_work" / "labels.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        out[shot_key(r["clip"], r["start_frame"], r["end_frame"])] = r
    return list(out.values())


def load_cache(path: str | os.PathLike) -> dict:
    try:
        data = json.loads(Path(path).read_text())
        if data.get("version") == CACHE_VERSION:
            return data
    except (OSError, ValueError):
        pass
    return {"version": CACHE_VERSION, "shots": {}, "clips": {}}


def _save(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=0, sort_keys=True))


def parse_config(text: str, base: ProbeOptions = ProbeOptions()) -> ProbeOptions:
    """``PRESET:QP``, ``PRESET:crfN`` or ``PRESET:crf@frame`` (centred), optionally ``/subN`` and ``/winS``
    (e.g. ``ultrafast:30``, ``superfast:crf28``, ``medium:crf@frame/sub1/win2``) -> probe options."""
    head, *extra = text.split("/")
    preset, _, q = head.partition(":")
    rc = "crf" if q.startswith("crf") else "qp"
    q = q[3:] if rc == "crf" else q.removeprefix("qp")
    centred = q == "@frame"
    sub, win = base.subsample, base.window_seconds
    for e in extra:
        if e.startswith("sub"):
            sub = int(e[3:])
        elif e.startswith("win"):
            win = float(e[3:])
        else:
            raise ValueError(f"unknown probe setting part {e!r} in {text!r}")
    return ProbeOptions(base.codec, preset or base.preset, float(q) if q and not centred else base.crf, sub, win, rc,
                        centred)


def probe_dataset(dataset: str | os.PathLike, clip_dirs: Sequence[str | os.PathLike],
                  configs: Iterable[ProbeOptions] = (ProbeOptions(),), cache_path: str | os.PathLike | None = None,
                  trial_seconds: float = 2.0, echo=print, centre: dict[str, float] | None = None) -> dict:
    """Probe every journalled shot of ``dataset`` for each of ``configs``; returns the cache's content.

    ``centre`` (`centre_estimates`): per shot key the JND1 a centred setting encodes that shot at;
    centred settings skip shots it lacks.
    """
    configs = list(configs)
    if any(c.centred for c in configs) and centre is None:
        raise ValueError("centred probe settings need the frame model's estimates (centre)")
    cache_path = Path(cache_path) if cache_path else Path(dataset) / CACHE_NAME
    data = load_cache(cache_path)
    clips = {c.name: c for c in list_clips(clip_dirs, each=False)}
    by_clip: dict[str, list[dict]] = defaultdict(list)
    for r in read_journal(dataset):
        by_clip[r["clip"]].append(r)
    for n, (name, recs) in enumerate(sorted(by_clip.items()), 1):
        recs.sort(key=lambda r: r["start_frame"])
        todo = [c for c in configs if any(c.key() not in data["shots"].get(
            shot_key(name, r["start_frame"], r["end_frame"]), {}) for r in recs)]
        if not todo:
            continue
        if name not in clips:
            echo(f"skipping {name}: not in the clip folders given")
            continue
        info = probe(clips[name], count_frames=False)
        size = (int(recs[0]["width"]), int(recs[0]["height"]))
        clip_rec = data["clips"].setdefault(name, {"sha256": recs[0]["clip_sha256"], "seconds": {}})
        clip_rec.update({"size": list(size), "fps": float(recs[0]["fps"])})
        tmp = Path(tempfile.mkdtemp(prefix="jndenc-pf-"))
        copies: dict[float, tuple[Path, list]] = {}
        try:
            keys = [shot_key(name, r["start_frame"], r["end_frame"]) for r in recs]
            for cfg in todo:
                idx = [i for i, k in enumerate(keys) if not cfg.centred or k in centre]
                if not idx:
                    continue
                # the labels measured the trial window at the build's fps (recorded per shot); a shorter
                # probe window is the middle of it
                seconds = min(cfg.window_seconds, trial_seconds)
                windows = shot_windows([(r["start_frame"], r["end_frame"]) for r in recs], float(recs[0]["fps"]),
                                       seconds)
                crfs = centred_crfs([centre[keys[i]] for i in idx]) if cfg.centred else None
                if cfg.rate_control == "qp":  # constant QP: probe a lossless copy of the windows (cheaper)
                    if seconds not in copies:
                        t0 = time.perf_counter()
                        copy = tmp / f"windows{len(copies)}.mkv"
                        copies[seconds] = (copy, extract_windows(clips[name], windows, copy, info.bit_depth))
                        if seconds == trial_seconds:
                            clip_rec.update({"window_frames": sum(b - a for a, b in windows),
                                             "cut_seconds": round(time.perf_counter() - t0, 3)})
                    src, wins = copies[seconds]
                else:  # CRF: the source itself - the copy's renumbered timestamps would change the frame rate
                    src, wins = clips[name], windows  # x264's rate control sees
                res, secs = run_probe(src, [wins[i] for i in idx], size, cfg, bit_depth=info.bit_depth, threads=1,
                                      work_dir=tmp, crfs=crfs)
                clip_rec["seconds"][cfg.key()] = round(secs, 3)
                for i, q in zip(idx, res):
                    d = data["shots"].setdefault(keys[i], {})
                    d[cfg.key()] = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in q.items()}
                    d[cfg.key()]["window"] = list(windows[i])
                    if seconds == trial_seconds:
                        d["window"] = list(windows[i])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _save(cache_path, data)
        echo(f"[{n}/{len(by_clip)}] {name}: {len(recs)} shots, {len(todo)} settings")
    return data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("clips", nargs="+", type=Path, help="folders holding the dataset's clips")
    ap.add_argument("--config", action="append", default=None,
                    help="probe setting, PRESET:QP, PRESET:crfN or PRESET:crf@frame[/subN][/winS] "
                         "(repeatable; default: the shipped probe setting)")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--trial-seconds", type=float, default=2.0, help="the build's trial window (seconds)")
    ap.add_argument("--frame-weights", type=Path, default=None,
                    help="the shipped frame model (centred settings: its estimates centre the test split's probes)")
    args = ap.parse_args(argv)
    configs = [parse_config(c) for c in args.config] if args.config else [SHIPPED_PROBE]
    centre = None
    if any(c.centred for c in configs):
        if args.frame_weights is None:
            ap.error("centred settings (crf@frame) need --frame-weights")
        centre = centre_estimates(args.dataset, args.frame_weights)
    probe_dataset(args.dataset, args.clips, configs, args.cache, args.trial_seconds, centre=centre)
    return 0


if __name__ == "__main__":
    sys.exit(main())
