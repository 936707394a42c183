"""FFmpeg argument builders: the argv lists themselves, and two of them run on tiny lavfi clips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import ffmpeg
from jndenc.media import ffargs
from jndenc.media.probe import probe
from jndenc.media.runner import run_ffmpeg, write_atomic


def _opt(args: list[str], flag: str) -> str:
    """The value after ``flag`` (which must occur exactly once)."""
    assert args.count(flag) == 1, (flag, args)
    return args[args.index(flag) + 1]


def test_pix_fmt_by_bit_depth():
    assert ffargs.pix_fmt(8) == "yuv420p"
    assert ffargs.pix_fmt(10) == ffargs.pix_fmt(12) == "yuv420p10le"


@pytest.mark.parametrize("cores, workers, want", [(16, 4, 4), (2, 4, 1), (7, 2, 3), (8, 0, 8), (1, 1, 1)])
def test_threads_per_job(cores, workers, want):
    assert ffargs.threads_per_job(cores, workers) == want


@pytest.mark.parametrize("name, front", [("a.mp4", True), ("b.M4V", True), ("c.mov", True), ("d.mkv", False),
                                         ("e.webm", False), ("f.avi", False), ("noext", False)])
def test_faststart_only_where_the_mp4_muxer_writes(name, front):
    assert ("-movflags" in ffargs.container_args(name)) == front
    assert (ffargs.container_args(name) == ["-fflags", "+bitexact"]) == (name[-4:] in (".mkv", "webm"))


def test_threads_per_job_defaults_to_this_machine():
    assert ffargs.threads_per_job(None, 1) >= 1


def test_lossless_cut_of_the_first_frames():
    a = ffargs.lossless_args("in.mp4", "out.mkv", bit_depth=10, max_frames=60)
    assert a[:2] == ["-i", "in.mp4"] and a[-1] == "out.mkv"
    assert _opt(a, "-c:v") == "libx264" and _opt(a, "-qp") == "0" and _opt(a, "-preset") == "ultrafast"
    assert _opt(a, "-map") == "0:V:0" and {"-an", "-sn", "-dn"} <= set(a)
    assert _opt(a, "-frames:v") == "60" and _opt(a, "-vf") == "format=yuv420p10le"
    assert "-t" not in a and "-f" not in a and "-fps_mode" not in a
    assert "-frames:v" not in ffargs.lossless_args("in.mp4", "out.mkv", max_frames=None)


def test_lossless_segments_are_all_intra_and_cut_at_the_shot_starts():
    a = ffargs.lossless_args("in.mp4", "ref_%05d.mkv", segment_frames=[50, 100])
    assert _opt(a, "-f") == "segment" and _opt(a, "-g") == "1" and _opt(a, "-reset_timestamps") == "1"
    assert _opt(a, "-segment_frames") == "50,100" and _opt(a, "-fps_mode") == "passthrough"
    # one shot: no split points, and the muxer must not fall back to its 2 s segments
    one = ffargs.lossless_args("in.mp4", "ref_%05d.mkv", segment_frames=[])
    assert "-segment_frames" not in one and float(_opt(one, "-segment_time")) > 1e6


def test_lossless_derived_copy_filters_before_the_pixel_format():
    a = ffargs.lossless_args("in.mp4", "out.mkv", vf="scale=80:60:flags=lanczos", seconds=4.0)
    assert _opt(a, "-vf") == "scale=80:60:flags=lanczos,format=yuv420p"
    assert _opt(a, "-t") == "4" and a.index("-t") > a.index("-i")  # an output option: trims, does not seek


def test_lossless_from_raw_frames_on_stdin():
    a = ffargs.lossless_args("-", "out.mkv", input_args=ffargs.raw_input_args((64, 48), 25))
    assert a[: a.index("-i") + 2] == ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "64x48", "-r", "25", "-i", "-"]


def test_trial_encode_args():
    a = ffargs.encode_args("ref.mkv", "t.mkv", encoder="libx264", preset="fast", crf=27, threads=3, frames=(10, 60))
    assert a[:4] == ["-threads", "3", "-i", "ref.mkv"] and a[-1] == "t.mkv"  # the decoder's threads, then
    assert _opt(a, "-crf") == "27" and "-qp" not in a and a.count("-threads") == 2  # the encoder's
    assert _opt(a, "-vf") == "trim=start_frame=10:end_frame=60,setpts=PTS-STARTPTS"
    assert "-x265-params" not in a
    b = ffargs.encode_args("ref.mkv", "t.mkv", encoder="libx265", preset="medium", crf=30, rate_control="qp")
    assert _opt(b, "-qp") == "30" and "-crf" not in b and "-threads" not in b and "-vf" not in b
    assert b[:2] == ["-i", "ref.mkv"]  # no threads given: FFmpeg's own choice for both
    assert _opt(b, "-x265-params") == "log-level=error"


def test_trim_filter_one_window_or_several():
    assert ffargs.trim_filter((10, 60)) == "trim=start_frame=10:end_frame=60,setpts=PTS-STARTPTS"
    assert ffargs.trim_filter([(10, 60)]) == ffargs.trim_filter((10, 60))
    several = ffargs.trim_filter([(0, 5), (20, 30)])
    assert several == "select='between(n,0,4)+between(n,20,29)',setpts=N/FRAME_RATE/TB"


def test_quality_graph():
    g = ffargs.quality_graph("/tmp/v.json", bit_depth=10, ref_range=(5, 20), size=(320, 240), threads=4)
    dist, ref, metric = g.split(";")
    assert dist == "[0:v]settb=1/25,setpts=N,scale=320:240:flags=bicubic,format=yuv420p10le[d]"
    assert ref == ("[1:V]trim=start_frame=5:end_frame=20,setpts=PTS-STARTPTS,settb=1/25,setpts=N,"
                   "format=yuv420p10le[r]")
    assert metric.startswith(f"[d][r]libvmaf=model=version={ffargs.VMAF_MODEL}:feature='name=psnr|name=float_ssim'")
    assert "log_path=/tmp/v.json" in metric and metric.endswith("n_threads=4")
    plain = ffargs.quality_graph("v.json")
    assert "trim" not in plain and "scale" not in plain and "format=yuv420p[" in plain
    a = ffargs.quality_args("d.mp4", "r.mkv", plain)
    assert a == ["-i", "d.mp4", "-i", "r.mkv", "-lavfi", plain, "-f", "null", "-"]
    assert ffargs.quality_args("d.mp4", "r.mkv", plain, threads=2)[:8] == [
        "-threads", "2", "-i", "d.mp4", "-threads", "2", "-i", "r.mkv"]  # each decoder's threads, where given


def test_built_commands_run(tmp_path):
    # lossless cut -> trial encode of a window -> quality of that window against the same reference frames
    src = tmp_path / "src.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-c:v", "libx264", "-crf", "20", str(src))
    ref = write_atomic(tmp_path / "ref.mkv", lambda t: ffargs.lossless_args(src, t, max_frames=20), what="cut")
    assert probe(ref).frames == 20 and not list(tmp_path.glob(".*tmp*"))
    enc = tmp_path / "enc.mkv"
    run_ffmpeg(ffargs.encode_args(ref, enc, encoder="libx264", preset="ultrafast", crf=35, frames=(5, 15)),
               what="trial")
    assert probe(enc).frames == 10
    log = tmp_path / "q.json"
    run_ffmpeg(ffargs.quality_args(enc, ref, ffargs.quality_graph(log, ref_range=(5, 15))), what="quality")
    frames = json.loads(log.read_text())["frames"]
    assert len(frames) == 10 and all({"vmaf", "psnr_y", "float_ssim"} <= set(f["metrics"]) for f in frames)


def test_raw_frames_fed_through_the_runner(tmp_path):
    # pseudo-videos: raw BGR frames on stdin, in order and complete
    frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(5)]
    out = write_atomic(tmp_path / "p.mkv",
                       lambda t: ffargs.lossless_args("-", t, input_args=ffargs.raw_input_args((64, 48), 25)),
                       what="raw", feed=(f.tobytes() for f in frames))
    info = probe(out)
    assert (info.frames, info.width, info.height) == (5, 64, 48)
    from jndenc.media.decode import iter_frames

    got = [fr.image for fr in iter_frames(out)]
    # BGR -> limited-range YUV -> BGR rounds grey levels by a few steps, no more
    assert len(got) == 5 and all(abs(float(g.mean()) - float(f.mean())) < 6 for g, f in zip(got, frames))


def test_failed_write_leaves_no_output(tmp_path):
    from jndenc.errors import FFmpegError

    dst = tmp_path / "x.mkv"
    with pytest.raises(FFmpegError):
        write_atomic(dst, lambda t: ffargs.lossless_args(tmp_path / "missing.mp4", t), what="cut")
    assert list(tmp_path.iterdir()) == []


def test_feed_and_progress_are_exclusive():
    with pytest.raises(ValueError):
        run_ffmpeg(["-version"], what="x", feed=[b""], on_frame=print)


def test_trial_window_is_the_middle_or_evenly_spread_pieces():
    assert ffargs.trial_window(100, 4.0, 25.0) is None  # a shot no longer than the window: all of it
    assert ffargs.trial_window(101, 0, 25.0) is None  # 0 s: all of it
    assert ffargs.trial_window(300, 4.0, 25.0) == (100, 200)  # the middle 100 frames
    assert ffargs.trial_window(301, 4.0, 25.0) == (100, 200)
    assert ffargs.trial_window(300, 3.0, 25.0, pieces=3) == ((69, 94), (138, 163), (206, 231))  # starts 275 * i / 4, rounded


def test_parallel_attempts_are_capped_by_memory():
    # measured peaks: 2160p 10-bit SVT-AV1 about 6 GB an attempt, 1080p 8-bit x264 1.2 GB on busy real footage
    uhd = ffargs.attempt_memory("libsvtav1", 3840, 2160, 10)
    assert 6.2 * 2**30 < uhd < 7 * 2**30  # 6.1 GB measured on a 2160p 10-bit HEVC source (uhd_memory.json)
    hd = ffargs.attempt_memory("libx264", 1920, 1080, 8)
    assert 1.2 * 2**30 < hd < 1.5 * 2**30 and 1.5 * hd < ffargs.attempt_memory("libx264", 1920, 1080, 10)
    assert ffargs.memory_jobs(uhd, 32 * 2**30) == 3  # a 16-core machine with 32 GB runs 3 such attempts at a time
    assert ffargs.memory_jobs(uhd, 2**30) == 1 and ffargs.memory_jobs(uhd, None) is None
    assert ffargs.jobs_in_memory(16, uhd, 32 * 2**30) == (3, 32 * 2**30)  # the one cap the loop and the probes share
    assert ffargs.jobs_in_memory(2, uhd, 32 * 2**30) == (2, 32 * 2**30)  # never more than asked for
    assert ffargs.jobs_in_memory(16, uhd, 2**30)[0] == 1  # at least one
    free = ffargs.available_memory()
    assert free is None or free > 0


def test_the_loop_runs_as_many_shots_at_once_as_the_memory_holds(tmp_path):
    from dataclasses import replace

    from conftest import make_cut_clip
    from jndenc.media.probe import probe
    from jndenc.shotloop import memory_capped

    info = replace(probe(make_cut_clip(tmp_path / "c.mp4", seconds=(1, 1, 1), audio=False)), width=3840, height=2160,
                   bit_depth=10)
    gb = 1 << 30
    assert memory_capped(16, "libx264", info, free=256 * gb) == (16, [])  # room for all
    jobs, why = memory_capped(16, "libx264", info, free=24 * gb)
    assert jobs == 2 and "2 shot(s) at a time, not 16" in why[0] and "GB free" in why[0]
