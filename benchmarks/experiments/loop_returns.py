#!/usr/bin/env python3
"""Do shots that cut back to an earlier one start better from what that one measured? Balanced on edits that cut
between two cameras, before and after `jndenc.media.shots.returns` (a shot whose first frame the content detector
would not tell from the last frame of an earlier shot starts at its own estimate moved as far as the earlier
shot's attempts moved that one's).

    python benchmarks/experiments/loop_returns.py build ../shared/clips OUT_DIR
    python benchmarks/segments.py OUT_DIR/*.mp4 --rows crf23,balanced --max-frames 360 --cpu 0 --out A.json
    python benchmarks/experiments/loop_returns.py compare --before A.json --after B.json [--variant C.json] \\
        --out benchmarks/results/loop_returns.json
    python benchmarks/segments.py OUT_DIR/*.mp4 --rows crf23,balanced@x265 --max-frames 360 --cpu 0 --out C.json
    python benchmarks/experiments/loop_returns.py compare-codecs --before C.json --after D.json \\
        --out benchmarks/results/loop_returns_x265.json

``build`` writes fifteen edits, each two training or validation clips scaled to 640x360 at 30 fps and cut
A B A B A B in pieces of 60 frames, each piece going on where that clip's last piece stopped (the shape of a
dialogue or an interview: two cameras, cut back and forth), losslessly coded. The shared clips have almost no
such cuts (one test clip, whose false cuts on lighting changes make its shots alike), so the rule is judged on
edits of training and validation clips. ``--before`` ran at the commit before the rule, ``--after`` at the
commit that added it, each process pinned to its own core; ``--variant`` ran at the commit that added it with
the earlier shot's kept CRF instead of its aim (`VARIANT`), after the other two, on the first core.

Verdict: kept (the aim). On the fifteen edits it took 1.7 attempts a shot instead of 2.0 and half the first
attempts landed in the band instead of a fifth, at 1.5% more bytes (a first attempt anywhere in the band
stops the loop, where two attempts interpolated near the aim); the kept-CRF variant spent a little fewer bytes
and more time (more readings near the lower edge measured again).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402

# (first camera, second camera): training and validation clips of one shot and at least 6 s at 30 fps
PAIRS = (("sam2_01_dog.mp4", "qalign_baby.mp4"),
         ("groundedsam2_cups.mp4", "fastvqa_10053703034_school_stage.mp4"),
         ("moviepy_chaplin.mp4", "simplevqa_laptopcube.mp4"),
         ("sam2_03_blocks.mp4", "gopro_karma_drone_coast.mp4"),
         ("liveportrait_woman.mp4", "trackanything_aquarium.mp4"),
         ("night.mp4", "liveportrait_selfie_vert.mp4"),
         ("small_bunny_1080p_30fps.mp4", "flipping_a_pancake.mkv"),
         ("highway_cif.mp4", "ice.mp4"),
         ("livewp_anime_rain_vert.mp4", "livewp_grassfog_vert.mp4"),
         ("mlflappy_game.webm", "phone_screenrec_instagram_vtest.mp4"),
         ("rerender_gradientportrait.mp4", "sam2_05_juggle.mp4"),
         ("sam2_720px_dark_motiongraphics.mp4", "test_video_structuralize.mp4"),
         ("video2x_lineart_cartoon.mp4", "animeganv3_incline_crowd_vert.mp4"),
         ("one-by-one-person-detection.mp4", "cinescope_dashboard_ui.mp4"),
         ("akiyo.mp4", "chopbot_mobilegame_vert.mp4"))
PIECE, PIECES = 60, 6
SOURCES = [list(p) for p in PAIRS]  # what the results record: the shared clips each edit was cut from, in order
# the variant run beside the rule (``--variant``): its commit with `ShotJob.resumed` patched, not committed
VARIANT = "the earlier shot's kept CRF (moved by the model's difference) instead of where its attempts put the aim"


def edit_graph(piece: int = PIECE, pieces: int = PIECES) -> str:
    """The filter graph of one edit: inputs 0 and 1 alternate, each piece continuing its own clip."""
    each = (pieces + 1) // 2
    chains = [f"[{k}:v]fps=30,scale=640:360,setsar=1,format=yuv420p,split={each}"
              + "".join(f"[s{k}_{j}]" for j in range(each)) for k in (0, 1)]
    parts = []
    for p in range(pieces):
        k, j = p % 2, p // 2
        parts.append(f"[s{k}_{j}]trim=start_frame={j * piece}:end_frame={(j + 1) * piece},setpts=PTS-STARTPTS[p{p}]")
    concat = "".join(f"[p{p}]" for p in range(pieces)) + f"concat=n={pieces}:v=1:a=0[v]"
    return ";".join(chains + parts + [concat])


def build(clips: Path, out: Path) -> list[Path]:
    from jndenc.media.ffbin import ffmpeg_exe

    out.mkdir(parents=True, exist_ok=True)
    made = []
    for n, (a, b) in enumerate(PAIRS, 1):
        dst = out / f"returns{n}_{Path(a).stem}_{Path(b).stem}.mp4"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(clips / a), "-i", str(clips / b),
                        "-filter_complex", edit_graph(), "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
                        "-qp", "0", str(dst)], check=True)
        made.append(dst)
        print(dst)
    return made


def measured(run: dict) -> dict:
    out, clips = pair.loop_figures(run)
    out["per_clip"] = pair.per_clip(clips)
    out["first_attempt_in_band"] = round(sum(
        r["loop"]["band"]["low"] <= a[0][1] <= r["loop"]["band"]["high"] for _, r in clips for a in r["attempts"])
        / out["shots"], 3)
    return out


def compare(argv: list[str]) -> int:
    """``--before A --after B [--variant C] --out D``: the runs' figures, each against ``--before``."""
    rest, variant = list(argv), None
    if "--variant" in rest:
        k = rest.index("--variant")
        variant = Path(rest[k + 1])
        del rest[k:k + 2]
    before, after, out_path = pair.load(__doc__, rest)
    b, a = measured(before), measured(after)
    a["attempts_s_vs_before"] = round(a["attempts_s"] / b["attempts_s"], 3)
    out = pair.write(before, b, a, out_path)
    out["sources"] = SOURCES
    if variant is not None:
        v_run = json.loads(variant.read_text())
        if not pair.aligned(before, v_run):
            raise SystemExit("--variant must run on the same clips")
        v = measured(v_run)
        v["attempts_s_vs_before"] = round(v["attempts_s"] / b["attempts_s"], 3)
        v["bytes_vs_before_pct"] = pair.bytes_vs(v, b)
        out["variant"] = {**v, "what": VARIANT}
        print("variant", {x: y for x, y in v.items() if x != "per_clip"})
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "build":
        if len(argv) != 3:
            print(__doc__)
            return 2
        build(Path(argv[1]), Path(argv[2]))
        return 0
    if argv and argv[0] == "compare":
        return compare(argv[1:])
    if argv and argv[0] == "compare-codecs":  # runs with rows crf23,balanced@x265 (or other codecs)
        before, after, out_path = pair.load(__doc__, argv[1:])
        rows = tuple(r for r in before["options"]["rows"] if r.startswith("balanced@"))
        out = pair.codec_rows(before, after, rows, out_path)
        out["sources"] = SOURCES
        out_path.write_text(json.dumps(out, indent=1) + "\n")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
