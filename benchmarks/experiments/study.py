"""What the clip studies share (`vmaf_subsample.py`, `vmaf_stride_long.py`, `codec_svt_tune.py`): the command line
(clips, ``--out``, ``--max-frames``, ``--cpu``, ``--merge``) and the loop that runs each clip in a temporary folder,
or joins the outputs of processes that ran at one commit."""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Callable


def parser(doc: str, max_frames: int) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-frames", type=int, default=max_frames)
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--merge", nargs="+", type=Path)
    return ap


def clips(ap: argparse.ArgumentParser, args: argparse.Namespace, run: Callable[[Path, Path], dict],
          prefix: str, show: Callable[[dict], object] = lambda rec: "done") -> tuple[str, list[dict]]:
    """(commit, one record per clip): joined from the ``--merge`` outputs (which must share a commit), or
    ``run(clip, folder)`` on each clip in its own temporary folder, pinned to ``--cpu``."""
    if args.merge:
        runs = [json.loads(p.read_text()) for p in args.merge]
        if len({r["commit"] for r in runs}) != 1:
            ap.error("runs from different commits")
        return runs[0]["commit"], [c for r in runs for c in r["clips"]]
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    from jndenc.bench.report import git_commit  # the jndenc that ran (its checkout's commit)

    commit = git_commit()
    out = []
    for clip in args.clips:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            out.append(run(clip, Path(tmp)))
        print(clip.name, show(out[-1]), flush=True)
    return commit, out


def cut(clip: Path, work: Path, max_frames: int):
    """The first ``max_frames`` frames of ``clip`` as a lossless source in ``work``, and its probe."""
    from jndenc.media.clips import prepare_source
    from jndenc.media.probe import probe

    src = prepare_source(clip, work / "src.mkv", max_frames, probe(clip, count_frames=False).bit_depth)
    return src, probe(src)


def segments_with(variants: dict, rows: tuple[str, ...], argv: list[str]) -> int:
    """`benchmarks/segments.py` with ``variants`` (name -> `jndenc.loop_options.LoopOptions`, each started from the
    model's median as balanced is) registered as effort levels of this process, on ``rows`` unless ``argv`` names
    its own (or merges runs). A loop variant runs beside the shipped levels in the same process, at one commit."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import segments

    from jndenc.effort import EFFORTS, Effort

    for name, options in variants.items():
        EFFORTS.setdefault(name, Effort(name, 0.5, options))
    if "--rows" not in argv and "--merge" not in argv:
        argv = [*argv, "--rows", ",".join(rows)]
    return segments.main(argv)
