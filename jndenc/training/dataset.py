"""`jndenc dataset build`: proxy-JND labels from real clips, written in the MTJND seed layout.

For every shot (README.md section "Proxy-JND labels") the oracle search (`jndenc.search`, the
same code as ``--mode search``) finds JND_k = the largest CRF whose pooled
metric against the source stays >= T_k. K frames sampled from the part of the
shot that was measured become training images; each gets the previous decoded
frame in ``prev/`` (the compact model's motion input) and its labels in
``JND-Levels.txt``. Splits are by source clip, so no clip leaks across them.

Work is journalled in ``OUT/_work/labels.jsonl`` one shot at a time: a rerun
skips labelled shots, and Ctrl-C loses at most the shots in flight.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..output import check_folder
from ..analyze import analyze
from .data import write_image
from . import siti
from ..media.clips import list_clips, sha256_file
from ..media.decode import iter_frames
from ..media.ffargs import threads_per_job
from .derive import parents_of
from ..errors import InputError, JndencError, UserError
from ..media.ffbin import ffmpeg_info
from ..media.probe import probe
from ..progress import bar
from ..planner import PRESETS
from ..search import SearchOptions, check_pool, check_thresholds, extract_references, map_shots, search_shot
from ..media.shots import split_long

IMAGE_SIZE = (480, 270)  # the paper's model input; smaller models resize from it
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class BuildOptions:
    search: SearchOptions = SearchOptions(max_trial_seconds=2.0)
    frames_per_shot: int = 3
    split: tuple[float, float, float] = (70, 15, 15)
    seed: int = 0
    # earlier assignments every clip named there keeps (a training_clips.json or a dataset.json); the output
    # folder's own dataset.json is always read too, so rebuilding with more clips never moves a clip
    splits_from: str | None = None
    workers: int = 2
    max_shots_per_clip: int = 12
    max_shot_seconds: float = 10.0


def check_options(opts: BuildOptions) -> None:
    """Refuse options that cannot label anything, before the first trial: a bad --pool, --thresholds or --split
    was an internal error after the first clip's trials, an unknown --preset skipped every clip and wrote an empty
    dataset with exit 0, and --min-crf above --max-crf labelled every shot at a bound."""
    s = opts.search
    check_thresholds(s.thresholds, s.metric)
    check_pool(s.pool)
    if s.preset not in PRESETS:
        raise UserError(f"--preset: one of {', '.join(PRESETS)}, not {s.preset!r}")
    if not 0 <= s.min_crf <= s.max_crf <= 51:
        raise UserError(f"need 0 <= --min-crf <= --max-crf <= 51 (got {s.min_crf}, {s.max_crf})")
    if len(opts.split) != len(SPLITS) or any(not x >= 0 for x in opts.split) or not sum(opts.split) > 0:
        raise UserError(f"--split: three shares train,valid,test, none negative and not all 0, "
                        f"not {','.join(f'{x:g}' for x in opts.split)}")


def clips_in(clips_dirs: Sequence[str | os.PathLike]) -> list[Path]:
    """Every clip of every folder (or file) given; each folder must hold at least one, and no two share a name
    without its extension: the images, labels and derived copies are named by it, and two such clips wrote over
    each other's (one clip's frame under the other's labels, in two splits)."""
    clips = list_clips(clips_dirs, each=True)
    seen: dict[str, Path] = {}
    for c in clips:
        if c.stem in seen and seen[c.stem].resolve() != c.resolve():
            raise UserError(f"{seen[c.stem]} and {c} share the name {c.stem!r}: the dataset names images and copies "
                            "by it; rename one")
        seen.setdefault(c.stem, c)
    return clips


def assign_splits(names: Sequence[str], split: Sequence[float], seed: int,
                  pinned: Mapping[str, str] | None = None) -> dict[str, str]:
    """Clip (or parent clip) name -> train/valid/test, so that a clip's split never moves when clips are added.

    A name in ``pinned`` (an earlier build's or a shipped model's assignment) keeps its split; every other name is
    placed by a hash of ``seed`` and the name alone, in proportion to ``split``. A seeded shuffle of the whole
    list (what builds did before) redealt every clip whenever one was added, so a clip could be judged in one
    build and trained on in the next.
    """
    total = float(sum(split))
    edges = (split[2] / total, (split[2] + split[1]) / total)
    pinned = pinned or {}
    out = {}
    for name in sorted(names):
        if pinned.get(name) in SPLITS:
            out[name] = pinned[name]
            continue
        # the bytes of a valid UTF-8 name are unchanged, so no split moves; a name with stray bytes is hashed too
        digest = hashlib.sha256(f"{seed}:{name}".encode("utf-8", "surrogateescape")).hexdigest()
        u = int(digest[:12], 16) / float(16 ** 12)
        out[name] = "test" if u < edges[0] else "valid" if u < edges[1] else "train"
    return out


def pinned_splits(*paths: str | os.PathLike | None) -> dict[str, str]:
    """Clip -> split from earlier assignments: a build's ``dataset.json`` (its clips, and their parents) or a
    ``training_clips.json`` like the one shipped in ``weights/``; later files win. Missing files give nothing."""
    out: dict[str, str] = {}
    for p in paths:
        if p is None or not Path(p).is_file():
            continue
        d = json.loads(Path(p).read_text())
        clips = d.get("clips", [])
        if isinstance(clips, dict):  # training_clips.json: name -> {"split": ...}
            out.update({n: c["split"] for n, c in clips.items() if c.get("split") in SPLITS})
        else:  # dataset.json: [{"name", "split", "parent"?}]
            for c in clips:
                if c.get("split") in SPLITS:
                    out[c.get("parent", c["name"])] = c["split"]
    return out


def pick_shots(shots: list[tuple[int, int]], k: int) -> list[tuple[int, int]]:
    """At most ``k`` shots, evenly spread over the clip (long clips would otherwise dominate)."""
    if len(shots) <= k:
        return shots
    idx = np.linspace(0, len(shots) - 1, k).round().astype(int)
    return [shots[i] for i in sorted(set(idx))]


def sample_positions(start: int, end: int, window: tuple[int, int] | None, k: int) -> list[int]:
    """K frames inside the measured window (or the whole shot), never a shot's first frame."""
    a, b = (start + window[0], start + window[1]) if window else (start, end)
    return siti.sample_positions(a, b, k)


def _grab(src: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    got = {}
    last = max(wanted)
    for fr in iter_frames(src, size=IMAGE_SIZE):
        if fr.index in wanted:
            got[fr.index] = fr.image
        if fr.index >= last:
            break
    return got


class Builder:
    def __init__(self, out_dir: Path, opts: BuildOptions):
        self.out = out_dir
        self.opts = opts
        self.work = out_dir / "_work"
        self.images = self.work / "images"
        self.images.mkdir(parents=True, exist_ok=True)
        self.journal = self.work / "labels.jsonl"
        self.trials_csv = out_dir / "trials.csv"
        self.lock = threading.Lock()

    def done(self) -> dict[tuple[str, int, int], dict]:
        out = {}
        if self.journal.exists():
            for line in self.journal.read_text().splitlines():
                try:
                    r = json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill: that shot is redone
                out[(r["clip_sha256"], r["start_frame"], r["end_frame"])] = r
        return out

    def _record(self, rec: dict, trials: list[dict]) -> None:
        with self.lock:
            new = not self.trials_csv.exists()
            with open(self.trials_csv, "a", newline="", encoding="utf-8", errors="surrogateescape") as fh:
                w = csv.writer(fh)
                if new:
                    w.writerow(["clip", "start_frame", "end_frame", "crf", "bytes", "score", "seconds"])
                for t in trials:
                    w.writerow([rec["clip"], rec["start_frame"], rec["end_frame"], t["crf"], t["bytes"],
                                f"{t['score']:.4f}", f"{t['seconds']:.3f}"])
            with open(self.journal, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def label_clip(self, clip: Path, sha: str, done: dict, pbar) -> None:
        info = probe(clip)
        all_shots = split_long(analyze(clip, info=info).shots, int(round(self.opts.max_shot_seconds * info.fps)))
        shots = pick_shots(all_shots, self.opts.max_shots_per_clip)
        todo = [(a, b) for a, b in shots if (sha, a, b) not in done]
        pbar.update(len(shots) - len(todo))
        if not todo:
            return
        tmp = self.work / f"refs-{sha[:12]}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            refs = extract_references(clip, all_shots, tmp, info.bit_depth)
            ref_of = {s: r for s, r in zip(all_shots, refs)}
            for s, r in ref_of.items():
                if s not in todo:
                    r.unlink(missing_ok=True)
            threads = threads_per_job(None, self.opts.workers)

            def one(shot):
                a, b = shot
                res = search_shot(ref_of[shot], a, b, self.opts.search, tmp, threads, info.fps, info.bit_depth)
                # images come from the frames the labels were measured on
                pos = sample_positions(a, b, res.window, self.opts.frames_per_shot)
                frames = _grab(clip, set(pos) | {p - 1 for p in pos})
                sampled = [p for p in pos if p in frames]
                si, ti = siti.si_ti([frames[p] for p in sampled])
                if len(sampled) == 1 and sampled[0] - 1 in frames:  # one sample has no pair: its frame before
                    ti = siti.si_ti([frames[sampled[0] - 1], frames[sampled[0]]])[1]
                names = []
                for p in pos:
                    if p not in frames:
                        continue
                    name = f"{clip.stem}__{a:06d}_{p:06d}.png"
                    write_image(self.images / name, frames[p])
                    write_image(self.images / ("prev__" + name), frames.get(p - 1, frames[p]))
                    names.append(name)
                rec = {"clip": clip.name, "clip_sha256": sha, "start_frame": a, "end_frame": b, "jnd": res.jnd,
                       "images": names, "si": si, "ti": ti, "trials": len(res.trials), "fps": info.fps,
                       "width": info.width, "height": info.height}
                self._record(rec, [asdict(t) for t in res.trials])
                ref_of[shot].unlink(missing_ok=True)
                pbar.update(1)

            map_shots(one, todo, self.opts.workers)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def write_layout(self, clips: list[Path], hashes: dict[str, str], seconds: float,
                     parents: dict[str, str] | None = None) -> dict:
        """(Re)write train/valid/test from the journal: images, prev/, JND-Levels.txt, features.csv.

        ``parents`` maps a derived clip to its source clip (`jndenc.derive`);
        splits are dealt over source clips, so a copy always lands in its parent's split.
        """
        records = list(self.done().values())
        parents = parents or {}
        group = {c.name: parents.get(c.name, c.name) for c in clips}
        pinned = pinned_splits(self.opts.splits_from, self.out / "dataset.json")
        by_group = assign_splits(sorted(set(group.values())), self.opts.split, self.opts.seed, pinned)
        splits = {name: by_group[g] for name, g in group.items()}
        counts = {}
        for split in SPLITS:
            d = self.out / split
            shutil.rmtree(d, ignore_errors=True)
            (d / "prev").mkdir(parents=True)
            rows, feats = [], []
            for r in records:
                if splits.get(r["clip"]) != split:
                    continue
                for name in r["images"]:
                    for s_name, d_name in ((name, d / name), ("prev__" + name, d / "prev" / name)):
                        try:
                            os.link(self.images / s_name, d_name)
                        except OSError:
                            shutil.copy2(self.images / s_name, d_name)
                    rows.append((name, *r["jnd"]))
                    feats.append((name, r["si"], r["ti"], r["clip"], r["start_frame"], r["end_frame"], r["width"],
                                  r["height"], group[r["clip"]]))
            rows.sort()
            feats.sort()
            with open(d / "JND-Levels.txt", "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write("# filename JND1 JND2 JND3 (proxy JND, CRF units)\n")
                fh.writelines(f"{n} {a} {b} {c}\n" for n, a, b, c in rows)
            with open(d / "features.csv", "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
                w = csv.writer(fh)
                w.writerow(["filename", "si", "ti", "clip", "start_frame", "end_frame", "width", "height", "group"])
                w.writerows(feats)
            counts[split] = {"images": len(rows), "clips": sorted({f[3] for f in feats}),
                             "groups": len({f[8] for f in feats}),
                             "shots": len({(f[3], f[4]) for f in feats})}
        meta = {
            "recipe": "proxy JND: largest CRF whose pooled metric vs source >= threshold (README.md section 'Proxy-JND labels')",
            "options": {**asdict(self.opts), "search": asdict(self.opts.search)},
            "image_size": IMAGE_SIZE,
            "label_units": "QP" if self.opts.search.rate_control == "qp" else "CRF",
            "clips": [{"name": c.name, "sha256": hashes[c.name], "split": splits[c.name],
                       **({"parent": group[c.name]} if group[c.name] != c.name else {})} for c in clips],
            "counts": counts,
            "ffmpeg": ffmpeg_info().version,
            "python": platform.python_version(),
            "seconds_this_run": round(seconds, 1),
        }
        (self.out / "dataset.json").write_text(json.dumps(meta, indent=1))
        return meta


def _check_same_search(out: Path, opts: BuildOptions) -> None:
    """Refuse a rebuild into ``out`` with other label-search options than its dataset.json records: its journal keeps
    each shot's labels by clip and shot, so the labels stayed the old ones while dataset.json took the new options
    (a --metric psnr rebuild kept VMAF labels and said PSNR)."""
    try:
        old = json.loads((out / "dataset.json").read_text())["options"]["search"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # a new folder (or no record to compare with)
    new = json.loads(json.dumps(asdict(opts.search)))
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        was = ", ".join(f"{k} {old.get(k)!r}" for k in changed)
        raise UserError(f"{out} was labelled with other search options ({was}): its labels would stay those; build "
                        "into another folder")


def build(clips_dirs: str | os.PathLike | Sequence[str | os.PathLike], out_dir: str | os.PathLike,
          opts: BuildOptions = BuildOptions(), quiet: bool = True) -> dict:
    """Label every clip in ``clips_dirs`` (folders or files) into ``out_dir``; returns dataset.json's content."""
    t0 = time.perf_counter()
    if isinstance(clips_dirs, (str, os.PathLike)):
        clips_dirs = [clips_dirs]
    check_options(opts)
    clips = clips_in(clips_dirs)
    parents = parents_of(clips_dirs)
    names = [c.name for c in clips]
    if len(set(names)) != len(names):
        raise UserError("two clips share a file name; splits are assigned by name, so rename one")
    out = Path(out_dir)
    check_folder(out, "output folder")
    _check_same_search(out, opts)
    b = Builder(out, opts)
    done = b.done()
    hashes = {c.name: sha256_file(c) for c in clips}
    usable = []
    with bar(None, "labelling", quiet, unit="shot") as pbar:
        for clip in clips:
            try:
                b.label_clip(clip, hashes[clip.name], done, pbar)
                usable.append(clip)
            except JndencError as exc:  # one unusable clip does not stop the build
                print(f"jndenc: skipping {clip.name}: {exc}", file=sys.stderr, flush=True)  # stdout: the counts
    if clips and not usable:  # an empty dataset with exit 0 would reach training as "no data" much later
        raise InputError(f"none of the {len(clips)} clip(s) could be labelled (each is skipped above)")
    meta = b.write_layout(usable, hashes, time.perf_counter() - t0, parents)
    why = split_warning({s: meta["counts"][s]["groups"] for s in SPLITS}, opts.split)
    if why:
        print(f"jndenc: warning: {why}", file=sys.stderr, flush=True)
    return meta


def split_warning(groups: Mapping[str, int], split: Sequence[float]) -> str | None:
    """What is wrong with the source clips each split got (``groups``: split -> count) against the shares asked
    (``split``: train, valid, test), or None. Pure.

    Splits are dealt per source clip by a hash of its name, so with few clips the shares can land far from
    ``--split``: train or valid left empty is refused by training only later (and tuning on no validation data is
    worse); 1 train clip of 7 where half was asked would make a useless training run."""
    total = sum(groups.values())
    empty = [s for s in ("train", "valid") if not groups.get(s)]
    fix = "add clips or change --split/--seed before training"
    if empty:
        return (f"{' and '.join(f'{s}/' for s in empty)} got no clip (splits are dealt per source clip, "
                f"{total} here): {fix}")
    asked = {s: x / float(sum(split)) for s, x in zip(SPLITS, split)}
    # a quarter of the clips off the asked share: beyond what rounding a handful of clips can explain
    off = [s for s in SPLITS if abs(groups.get(s, 0) / total - asked[s]) > 0.25]
    if not off:
        return None
    got = ", ".join(f"{s}/ {groups.get(s, 0)} ({100 * groups.get(s, 0) / total:.0f}%, asked {100 * asked[s]:.0f}%)"
                    for s in off)
    return f"the source clips fell far from --split ({got} of {total}; dealt by a hash of each name): {fix}"
