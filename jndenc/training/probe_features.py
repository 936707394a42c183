"""Probe features for labelled shots: the cheap probe (`jndenc.media.probe_encode`) of every journalled shot.

    python -m jndenc.training.probe_features DATASET CLIPS_DIR [CLIPS_DIR ...] [--config PRESET:CRF ...]

DATASET is a `jndenc dataset build` folder (its journal ``_work/labels.jsonl``
lists the shots). Each shot is probed on the window its labels were
measured on (`jndenc.media.ffargs.trial_window` of the build's trial seconds), for
every probe setting asked for, and the scores are cached in
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

from ..media.clips import list_clips
from ..media.probe import probe
from ..media.probe_encode import ProbeOptions, extract_windows, run_probe, shot_windows

CACHE_NAME = "probe_features.json"
CACHE_VERSION = 1


def shot_key(clip: str, start: int, end: int) -> str:
    return f"{clip}|{int(start)}|{int(end)}"


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
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=0, sort_keys=True))
    os.replace(tmp, path)


def parse_config(text: str, base: ProbeOptions = ProbeOptions()) -> ProbeOptions:
    """``PRESET:QP`` or ``PRESET:crfN`` (e.g. ``ultrafast:30``, ``superfast:crf28``) -> probe options."""
    preset, _, q = text.partition(":")
    rc = "crf" if q.startswith("crf") else "qp"
    q = q[3:] if rc == "crf" else q.removeprefix("qp")
    return ProbeOptions(base.codec, preset or base.preset, float(q) if q else base.crf, base.subsample,
                        base.window_seconds, rc)


def probe_dataset(dataset: str | os.PathLike, clip_dirs: Sequence[str | os.PathLike],
                  configs: Iterable[ProbeOptions] = (ProbeOptions(),), cache_path: str | os.PathLike | None = None,
                  trial_seconds: float = 2.0, echo=print) -> dict:
    """Probe every journalled shot of ``dataset`` for each of ``configs``; returns the cache's content."""
    configs = list(configs)
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
        shots = [(r["start_frame"], r["end_frame"]) for r in recs]
        # the labels measured the trial window at the build's fps (recorded per shot)
        windows = shot_windows(shots, float(recs[0]["fps"]), trial_seconds)
        size = (int(recs[0]["width"]), int(recs[0]["height"]))
        tmp = Path(tempfile.mkdtemp(prefix="jndenc-pf-"))
        try:
            t0 = time.perf_counter()
            copy = tmp / "windows.mkv"
            local = extract_windows(clips[name], windows, copy, info.bit_depth)
            cut = time.perf_counter() - t0
            clip_rec = data["clips"].setdefault(name, {"sha256": recs[0]["clip_sha256"], "seconds": {}})
            clip_rec.update({"window_frames": sum(b - a for a, b in windows), "size": list(size),
                             "fps": float(recs[0]["fps"]), "cut_seconds": round(cut, 3)})
            for cfg in todo:
                res, secs = run_probe(copy, local, size, cfg, bit_depth=info.bit_depth, threads=1, work_dir=tmp)
                clip_rec["seconds"][cfg.key()] = round(secs, 3)
                for r, w, q in zip(recs, windows, res):
                    d = data["shots"].setdefault(shot_key(name, r["start_frame"], r["end_frame"]), {})
                    d[cfg.key()] = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in q.items()}
                    d["window"] = list(w)
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
                    help="PRESET:CRF probe setting (repeatable; default: the shipped probe setting)")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--trial-seconds", type=float, default=2.0, help="the build's trial window (seconds)")
    args = ap.parse_args(argv)
    configs = [parse_config(c) for c in args.config] if args.config else [ProbeOptions()]
    probe_dataset(args.dataset, args.clips, configs, args.cache, args.trial_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
