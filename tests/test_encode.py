"""Real FFmpeg encodes of generated clips: per-shot CRF applied, streams kept, atomic output."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import av
from conftest import interruptible
from jndenc.encode import encode
from jndenc.errors import UserError
from jndenc.planner import PlanOptions, make_plan
from jndenc.media.probe import probe
from jndenc.media.qp import range_qps

SHOTS = [(0, 50), (50, 100), (100, 150)]


def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def test_per_shot_crf_really_applied(cut_clip, tmp_path):
    plan = make_plan(SHOTS, [[41, 45, 48], [19, 25, 30], [31, 36, 40]], 150, 25.0, PlanOptions(margin=0, max_crf=51))
    out = tmp_path / "o.mp4"
    before = sha(cut_clip)
    r = encode(cut_clip, out, plan=plan)
    assert sha(cut_clip) == before
    q = range_qps(out, SHOTS)
    # measured QP follows the planned CRF order per shot, with clear gaps
    assert q[0] > q[2] + 3 > q[1] + 6, q
    assert r.frames == 150 and r.bytes == out.stat().st_size


def test_fixed_crf_changes_size(cut_clip, tmp_path):
    a = encode(cut_clip, tmp_path / "a.mp4", crf=18, preset="ultrafast")
    b = encode(cut_clip, tmp_path / "b.mp4", crf=35, preset="ultrafast")
    assert a.bytes > 1.5 * b.bytes


def test_streams_frames_timestamps_kept(cut_clip, tmp_path):
    out = tmp_path / "o.mp4"
    encode(cut_clip, out, crf=23, preset="ultrafast")
    src, dst = probe(cut_clip), probe(out)
    assert dst.frames == src.frames == 150
    assert dst.audio_streams == 1
    assert dst.fps == pytest.approx(src.fps)
    assert dst.duration == pytest.approx(src.duration, abs=0.05)
    with av.open(str(out)) as c:
        keys = [i for i, p in enumerate(sorted((p for p in c.demux(video=0) if p.size), key=lambda p: p.pts)) if p.is_keyframe]
    assert {0, 50, 100} <= set(keys)  # a keyframe at every shot start


def test_x265_encode(cut_clip, tmp_path):
    plan = make_plan(SHOTS, [[40, 45, 48], [20, 25, 30], [30, 36, 40]], 150, 25.0,
                     PlanOptions(codec="x265", preset="ultrafast", margin=0, x265_offsets=((0, 0),)))
    out = tmp_path / "o.mkv"
    r = encode(cut_clip, out, plan=plan)
    assert probe(out).codec == "hevc" and r.frames == 150
    flat = tmp_path / "flat.mkv"
    encode(cut_clip, flat, crf=plan.base_crf, codec="x265", preset="ultrafast")

    def shot_bytes(path):
        with av.open(str(path)) as c:
            pk = sorted((p for p in c.demux(video=0) if p.size), key=lambda p: p.pts)
        return np.array([sum(p.size for p in pk[a:b]) for a, b in SHOTS], dtype=float)

    ratio = shot_bytes(out) / shot_bytes(flat)
    # against a flat encode at the base CRF: the CRF-20 shot gets more bits, the CRF-40 shot fewer
    assert ratio[1] > 1.3 and ratio[0] < 0.7, ratio


def test_plan_out_and_replay(cut_clip, tmp_path):
    plan_path = tmp_path / "plan.json"
    encode(cut_clip, tmp_path / "a.mp4", crf=30, preset="ultrafast", plan_out=plan_path)
    d = json.loads(plan_path.read_text())
    d["zones"][1]["crf"] = d["shots"][1]["crf"] = 12
    plan_path.write_text(json.dumps(d))
    r = encode(cut_clip, tmp_path / "b.mp4", plan=plan_path)
    qa, qb = range_qps(tmp_path / "a.mp4", SHOTS), range_qps(tmp_path / "b.mp4", SHOTS)
    assert qb[1] < qa[1] - 8 and abs(qb[0] - qa[0]) < 3
    assert not any("plan was made for" in n for n in r.notes), r.notes
    # the same plan onto another file of the same length: replayed by frame number, and said
    other = tmp_path / "other.mp4"
    shutil.copy(cut_clip, other)
    r = encode(other, tmp_path / "c.mp4", plan=plan_path)
    assert any(f"made for {cut_clip}" in n and "by frame number" in n for n in r.notes), r.notes


def test_a_negative_margin_is_said(cut_clip, tmp_path):
    r = encode(cut_clip, tmp_path / "a.mp4", mode="predict", margin=-2, preset="ultrafast")
    assert any("--margin -2 plans every shot above its estimated JND" in n for n in r.notes), r.notes
    r = encode(cut_clip, tmp_path / "b.mp4", mode="predict", margin=1, preset="ultrafast")
    assert not any("--margin" in n for n in r.notes), r.notes


def test_refuses_input_as_output_and_existing(cut_clip, tmp_path):
    with pytest.raises(UserError, match="is the input"):
        encode(cut_clip, cut_clip, crf=23, overwrite=True)
    link = tmp_path / "link.mp4"
    os.symlink(cut_clip, link)
    with pytest.raises(UserError, match="is the input"):
        encode(cut_clip, link, crf=23, overwrite=True)
    hard = tmp_path / "hard.mp4"
    os.link(cut_clip, hard)
    with pytest.raises(UserError, match="is the input"):
        encode(hard, cut_clip, crf=23, overwrite=True)
    exists = tmp_path / "x.mp4"
    exists.write_bytes(b"keep")
    with pytest.raises(UserError, match="already exists"):
        encode(cut_clip, exists, crf=23)
    assert exists.read_bytes() == b"keep"
    with pytest.raises(UserError, match="does not exist"):
        encode(cut_clip, tmp_path / "missing" / "o.mp4", crf=23)


def test_kill_mid_encode_leaves_no_output(cut_clip, tmp_path):
    """SIGINT while FFmpeg runs: no output, no temp file, exit 130."""
    out = tmp_path / "o.mp4"
    big = tmp_path / "big.mp4"
    subprocess.run([sys.executable, "-c", "from jndenc.media.ffbin import ffmpeg_exe; import subprocess;"
                    f"subprocess.run([ffmpeg_exe(),'-loglevel','error','-f','lavfi','-i','testsrc2=size=1280x720:rate=25:duration=20','-c:v','libx264','-preset','ultrafast','{big}'],check=True)"],
                   check=True)
    with interruptible([sys.executable, "-m", "jndenc.cli", "encode", str(big), str(out), "--crf", "20",
                        "--preset", "veryslow", "-q"], stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.time() + 60
        while time.time() < deadline and not any(p.name.endswith(".tmp.mp4") for p in tmp_path.iterdir()):
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if "jndenc" in p.name], list(tmp_path.iterdir())


def test_keyframe_at_every_shot_start_with_many_shots(cut_clip, tmp_path):
    """150 one-frame shots: more than FFmpeg's expression parser could take as eq(n,k) terms."""
    shots = [(i, i + 1) for i in range(0, 150, 1)]
    plan = make_plan(shots, [[30, 35, 40]] * len(shots), 150, 25.0, PlanOptions(preset="ultrafast"))
    out = tmp_path / "k.mp4"
    encode(cut_clip, out, plan=plan)
    with av.open(str(out)) as c:
        pk = sorted((p for p in c.demux(video=0) if p.size), key=lambda p: p.pts)
    assert all(p.is_keyframe for p in pk) and len(pk) == 150


def test_reference_args_are_a_plain_fixed_crf_encode():
    from jndenc.reference import reference_args

    args = reference_args("in.mp4", "ref.mkv", codec="x264", preset="slow", crf=23, video_stream=1, threads=2)
    assert args[args.index("-c:v") + 1] == "libx264" and args[args.index("-crf") + 1] == "23"
    assert args[args.index("-preset") + 1] == "slow" and args[args.index("-threads") + 1] == "2"
    assert args[args.index("-map") + 1] == "0:v:1" and args.count("-map") == 1  # the video alone
    assert not any("zones" in a or "force_key_frames" in a for a in args)  # nothing of jndenc's plan
    x265 = reference_args("in.mp4", "ref.mkv", codec="x265", preset="medium", crf=28.5, bit_depth=10)
    assert x265[x265.index("-c:v") + 1] == "libx265" and x265[x265.index("-crf") + 1] == "28.5"
    # 4:2:0 at the source's depth, as jndenc's output: a saving is never the chroma subsampling's
    assert args[args.index("-pix_fmt") + 1] == "yuv420p" and x265[x265.index("-pix_fmt") + 1] == "yuv420p10le"


def test_compare_crf_reports_the_plain_encode_beside_jndenc(cut_clip, tmp_path):
    # a real plain encode at the same CRF: its video bytes are what the report says, jndenc's are its own
    # output's, and with --verify the reference's per-shot VMAF is measured over the same shots
    from conftest import ffmpeg
    from jndenc.reference import reference_args, video_bytes

    plan = make_plan(SHOTS, [[36, 40, 44], [20, 25, 30], [30, 36, 40]], 150, 25.0,
                     PlanOptions(margin=0, preset="ultrafast", max_crf=51))
    out = tmp_path / "o.mp4"
    r = encode(cut_clip, out, plan=plan, verify=True, compare_crf=30, threads=1)
    c = r.to_dict()["compare"]
    plain = tmp_path / "plain.mkv"
    ffmpeg(*reference_args(cut_clip, plain, codec="x264", preset="ultrafast", crf=30, threads=1))
    assert c["video_bytes"] == video_bytes(plain)
    assert c["jndenc_video_bytes"] == video_bytes(out) < out.stat().st_size  # video only: the AAC track is left out
    assert c["saving_pct"] == pytest.approx(100 * (1 - c["jndenc_video_bytes"] / c["video_bytes"]), abs=0.01)
    assert c["crf"] == 30 and c["encode_s"] > 0 and c["jndenc_time_ratio"] > 0
    assert len(c["shots"]) == 3 and c["verify"]["target_vmaf"] == 94
    # shot 1 (the mandelbrot) is coded at CRF 20 by the plan, 30 by the reference: the reference is worse there
    assert c["shots"][1]["vmaf"]["mean"] < r.quality[1].mean
    assert [(x["start_frame"], x["end_frame"]) for x in c["shots"]] == [(s.start_frame, s.end_frame) for s in r.plan.shots]
    assert not list(tmp_path.glob(".jndenc-reference-*"))  # the reference is deleted
    assert "compare_s" in r.timings

