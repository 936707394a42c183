#!/usr/bin/env python3
"""Which scorer input costs less: the encoder's own decoded source frames, or a second decoder of the source?

    python benchmarks/experiments/own_reference.py CLIPS... --out benchmarks/results/own_reference.json

An attempt (`jndenc.media.segments.attempt_args`) and a probe (`jndenc.media.probe_encode.probe_args`) encode and
score in one FFmpeg run: the loopback decoder feeds the encode to libvmaf beside the source frames. Those frames
can come from the decoder that feeds the encoder (one decode) or from a second decoder of the same source at the
same seek. Per clip, from 40% of the way in, an x264 medium attempt of 24, 45, 60 and 90 frames (CRF 26, every
3rd frame scored in segments of 48 frames or more, as balanced does) and a centred probe's 1 s window (CRF 24,
every frame), each run both ways, twice, in a child process: CPU seconds (user + system, the lower of the two) and
peak resident memory, and whether the two ways wrote the same packets and the same per-frame scores.

Why: a segment shorter than x264's lookahead is written only once its last frame is in, and a scorer fed from the
encoder's decoder held the source frames meanwhile. Not adopted: with two decoders FFmpeg hung where the first found
no frames (benchmarks/README.md, "A scorer's source frames"). Run it on training and validation clips.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import av

from jndenc.bench.report import git_commit
from jndenc.media import segments as S
from jndenc.media.ffbin import ffmpeg_exe
from jndenc.media.probe import probe
from jndenc.media.probe_encode import SHIPPED_PROBE, probe_args
from jndenc.media.probe_encode import seek_args as probe_seek

LENGTHS = (24, 45, 60, 90)


def run_measured(args: list[str]) -> tuple[float, int]:
    """CPU seconds and peak resident MiB of one FFmpeg run, in a child process of its own."""
    pid = os.fork()
    if pid == 0:
        os.execv(ffmpeg_exe(), [ffmpeg_exe(), "-v", "error", "-y", *args])
    _, status, ru = os.wait4(pid, 0)
    if status:
        raise SystemExit(f"ffmpeg failed: {' '.join(args)}")
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss >> 10


def two_ways(args: list[str]) -> tuple[list[str], list[str]]:
    """``args`` (one run) as (shared, own): one decoder feeding both, or the scorer on a second decoder."""
    i = args.index("-i")
    seek = args[:i]
    if args.count("-i") == 2:  # built with a decoder of its own: drop the second input
        own, shared, old, new = args, args[:i + 2] + args[i + 2 + len(seek) + 2:], "[1:V:0]", "[0:V:0]"
    else:
        shared, own, old, new = args, args[:i + 2] + [*seek, "-i", args[i + 1]] + args[i + 2:], "[0:V:0]", "[1:V:0]"
    other = list(own if old == "[1:V:0]" else shared)
    changed = shared if old == "[1:V:0]" else own
    d = changed.index("-dec")  # "-dec", "0:0", "-filter_complex", the scorer's graph
    changed = changed[:d + 3] + [changed[d + 3].replace(old, new)] + changed[d + 4:]
    return (changed, other) if old == "[1:V:0]" else (other, changed)


def _packets(path: Path) -> str:
    with av.open(str(path)) as c:
        return hashlib.sha1(b"".join(bytes(p) for p in c.demux(c.streams.video[0]) if p.size)).hexdigest()


def _scores(path: Path) -> list:
    return [f["metrics"] for f in json.loads(path.read_text())["frames"]]


def measure(kind: str, make, work: Path) -> dict:
    """``make(out, log)`` builds the run's arguments; both ways, twice each."""
    got = {}
    for way in ("shared", "own"):
        out, log = work / f"{way}.mkv", work / f"{way}.json"
        args = two_ways(make(out, log))[way == "own"]
        assert args.count("-i") == (2 if way == "own" else 1)
        runs = [run_measured(args) for _ in range(2)]
        got[way] = {"cpu_s": round(min(r[0] for r in runs), 3), "peak_mib": max(r[1] for r in runs),
                    "packets": _packets(out), "scores": _scores(log)}
    return {"kind": kind, **{f"{w}_{k}": got[w][k] for w in got for k in ("cpu_s", "peak_mib")},
            "cpu_own_over_shared": round(got["own"]["cpu_s"] / got["shared"]["cpu_s"], 3),
            "peak_own_over_shared": round(got["own"]["peak_mib"] / got["shared"]["peak_mib"], 3),
            "same_packets": got["own"]["packets"] == got["shared"]["packets"],
            "same_scores": got["own"]["scores"] == got["shared"]["scores"]}


def command_line(doc: str, work: str, argv=None) -> argparse.Namespace:
    """The measurement studies' command line (clips, ``--out``, ``--work``), the work folder made."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path(work))
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    return args


def write_rows(args: argparse.Namespace, rows: list[dict]) -> None:
    """The study's rows to ``--out`` with the commit and machine they ran on."""
    out = {"commit": git_commit(), "machine": platform.machine(), "python": platform.python_version(),
           "clips": [c.name for c in args.clips], "rows": rows}
    args.out.write_text(json.dumps(out, indent=1) + "\n")


def main(argv=None) -> int:
    args = command_line(__doc__, "/tmp/jndenc-own-reference", argv)
    rows = []
    for clip in args.clips:
        info = probe(clip)
        first = int(info.frames * 0.4)
        codec = S.SegmentCodec("x264", "medium", S.encoder_threads(info.width, info.height), info.bit_depth)
        seek = S.seek_args(first / info.fps, (first - 1) / info.fps)
        for n in LENGTHS:
            if first + n > info.frames:
                continue
            row = measure(f"attempt {n}", lambda o, lg, n=n: S.attempt_args(
                clip, o, lg, (0, n), codec=codec, crf=26.0, seek=seek, subsample=3 if n >= 48 else 1), args.work)
            rows.append({"clip": clip.name, "size": f"{info.width}x{info.height}", "frames": n, **row})
            print(rows[-1], flush=True)
        win = max(1, int(round(info.fps)))
        row = measure("probe", lambda o, lg: probe_args(clip, o, lg, [(0, win)], opts=SHIPPED_PROBE, subsample=1,
                                                        threads=1, seek=probe_seek(first, info.fps), crf=24,
                                                        bit_depth=info.bit_depth), args.work)
        rows.append({"clip": clip.name, "size": f"{info.width}x{info.height}", "frames": win, **row})
        print(rows[-1], flush=True)
    write_rows(args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
