"""The segment encoder and its closed loop, with real FFmpeg encodes, PyAV decodes and the shipped model."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import ffmpeg, interruptible, make_cut_clip
from jndenc.encode import encode
from jndenc.effort import UNMEASURED_CONFIDENCE
from jndenc.errors import UserError
from jndenc.media import join as J
from jndenc.media import segments as S
from jndenc.media.timing import variable_rate
from jndenc.media.probe import probe
from jndenc.planner import PlanOptions, ShotPlan, fixed_plan
from jndenc.search import DEFAULT_THRESHOLDS
from jndenc import loop, loop_options, schedule, shotloop, starts


def frame_times(path) -> list:
    with av.open(str(path)) as c:
        return [f.pts * f.time_base for f in c.decode(video=0)]


def video_end(path) -> Fraction:
    """Where the last frame stops showing, in seconds: its packet's pts plus duration (what players show as the
    video's length)."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        pts, dur = max((p.pts, p.duration) for p in c.demux(st) if p.size)
        return (pts + dur) * st.time_base


def frames_of(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory) -> Path:
    """Three shots at 25 fps with a timestamp gap (frame 9 -> 13) in the first, and AAC audio."""
    p = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    srcs = ["testsrc2=size=160x120:rate=25:duration=2", "mandelbrot=size=160x120:rate=25,trim=duration=2",
            "testsrc=size=160x120:rate=25:duration=2,hue=h=120"]
    args = [a for s in srcs for a in ("-f", "lavfi", "-i", s)]
    graph = "".join(f"[{i}:v]format=yuv420p,setsar=1[v{i}];" for i in range(3))
    graph += "[v0][v1][v2]concat=n=3:v=1:a=0,setpts='(N+4*gte(N\\,10))/25/TB'[v]"
    ffmpeg(*args, "-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-filter_complex", graph,
           "-map", "[v]", "-map", "3:a", "-c:a", "aac", "-fps_mode", "passthrough", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "10", str(p))
    return p


def spent(shot, band: loop.Band, budget: int = 3) -> bool:
    """Whether a shot that ended outside the band used its attempts: the budget, or the one more that
    `jndenc.loop.allowed` gives where they fell on both sides of the band (unless no CRF was left between them)."""
    return budget <= len(shot.attempts) <= loop.allowed(shot.attempts, band, budget)


def plan_at(src: Path, crf: float, shots=None):
    info = probe(src)
    shots = shots or [(0, 50), (50, 100), (100, info.frames)]
    return fixed_plan(shots, crf, info.frames, info.fps, PlanOptions(min_crf=10, max_crf=40)), info


def test_stitchable_segments_share_their_parameter_sets(cut_clip, tmp_path):
    """x264 puts a CRF-dependent initial QP in its PPS unless stitchable; x265's differ only by its info SEI;
    the AV1 encoders' sequence headers do not depend on the quality setting (VP9 has none)."""
    for codec, encoder, crfs in (("x264", "", (18, 34)), ("x265", "", (18, 34)), ("av1", "", (18, 34)),
                                 ("av1", "libaom-av1", (18, 34)), ("av1", "librav1e", (40, 160))):
        extradata = []
        for crf in crfs:
            out = tmp_path / f"{codec}{encoder}{crf}.mkv"
            m = S.run_attempt(cut_clip, out, (0, 20), codec=S.SegmentCodec(codec, "ultrafast", encoder=encoder),
                              crf=crf, what="t")
            assert m.frames == 20
            with av.open(str(out)) as c:
                extradata.append(bytes(c.streams.video[0].codec_context.extradata))
        assert extradata[0] == extradata[1], (codec, encoder)


@pytest.fixture(scope="module")
def mkv30_clip(tmp_path_factory) -> Path:
    """30 fps in Matroska: millisecond timestamps, off the 1/30 s grid (a seek without -copyts collided frames)."""
    return make_cut_clip(tmp_path_factory.mktemp("mkv30") / "cuts30.mkv", rate=30, audio=False)


@pytest.fixture(scope="module")
def tb30_clip(mkv30_clip, tmp_path_factory) -> Path:
    """30 fps in MP4 with a 1/30 s time base, as many cameras and old MPEG-4 files have: a seek half way back to
    the frame before rounds, on that grid, onto the frame before (every segment but the first began one frame
    early)."""
    out = tmp_path_factory.mktemp("tb30") / "cuts_tb30.mp4"
    ffmpeg("-i", str(mkv30_clip), "-c", "copy", "-video_track_timescale", "30", str(out))
    return out


@pytest.mark.parametrize("clip", ["cut_clip", "mkv30_clip", "tb30_clip"])
@pytest.mark.parametrize("crf", [0.0, 12.0])
def test_segments_rejoin_to_the_source_frame_for_frame(clip, crf, request, tmp_path):
    """Joined segments show each source frame at its own place: at CRF 0 (lossless) exactly the source's
    pixels; at CRF 12 (B-frames in use, where display order must be recovered) each decoded frame is closer
    to its own source frame than to either neighbour, and the timestamps are the source's."""
    cut_clip = request.getfixturevalue(clip)
    info = probe(cut_clip)
    # cuts at multiples of 3: on a 1/30 s grid their half-way-back seek time prints just under the half frame
    plan, info = plan_at(cut_clip, crf, [(0, 42), (42, 72), (72, info.frames)])
    times = J.source_timestamps(cut_clip, 0, info.frames)
    segs = []
    for i, s in enumerate(plan.shots):
        a, b = s.start_frame, s.end_frame
        seek = S.seek_args(float(times.pts[a] * times.time_base),
                           float(times.pts[a - 1] * times.time_base) if a else None)
        out = tmp_path / f"s{i}.mkv"
        # medium, as users run it: B-frames, so display order differs from decode order (ultrafast has none)
        m = S.run_attempt(cut_clip, out, (0, b - a), codec=S.SegmentCodec(preset="medium"), crf=crf, seek=seek,
                          what="t")
        assert m.frames == b - a and m.vmaf > 90
        segs.append(out)
    J.join(segs, [s.start_frame for s in plan.shots], times.pts, times.time_base, tmp_path / "v.mp4", times.end)
    got, want = frames_of(tmp_path / "v.mp4"), frames_of(cut_clip)
    assert len(got) == len(want)
    assert frame_times(tmp_path / "v.mp4") == frame_times(cut_clip)
    # the last frame lasts as long as the source's; MP4 keeps durations in decode order, so where the source's
    # intervals differ by a tick (30 fps on Matroska's millisecond grid) the end may move by that tick
    assert abs(video_end(tmp_path / "v.mp4") - video_end(cut_clip)) <= times.time_base
    assert video_end(cut_clip) == times.end * times.time_base
    if crf == 0:
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
        return
    diff = lambda x, y: float(np.mean(np.abs(x.astype(int) - y.astype(int))))  # noqa: E731
    # a slow zoom (mandelbrot) barely changes from frame to frame, so a few frames may sit as close to a
    # neighbour; frames out of order (B-frames swapped) would fail by the dozen
    own_closest = [diff(got[i], want[i]) <= min(diff(got[i], want[i - 1]), diff(got[i], want[i + 1]))
                   for i in range(1, len(got) - 1)]
    assert sum(own_closest) >= 0.95 * len(own_closest), [i + 1 for i, ok in enumerate(own_closest) if not ok]


def test_output_keeps_frames_timestamps_and_audio_of_a_vfr_input(vfr_clip, tmp_path):
    out = tmp_path / "o.mp4"
    r = encode(vfr_clip, out, jobs=2)
    assert r.effort == "balanced" and r.loop is not None
    assert frame_times(out) == frame_times(vfr_clip)
    # the last frame lasts as long as the source's (the segments' own durations are in another time base)
    assert video_end(out) == video_end(vfr_clip)
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1
    d = r.to_dict()
    assert d["loop"]["attempts"] == sum(len(s["attempts"]) for s in d["shots"])
    assert {"analysis", "first_attempts", "extra_attempts", "join"} <= set(d["cost"])
    assert all(s["crf"] == s["attempts"][s["kept"]]["crf"] for s in d["shots"])
    # the plan written is the one encoded: each shot at the CRF kept
    assert [s.crf for s in r.plan.shots] == [s["crf"] for s in d["shots"]]


def test_mux_moves_every_stream_back_by_the_sources_start():
    args = J.mux_args(Path("v.mp4"), "src.ts", Path("o.mkv"), ["a"], {"c:a:0": "copy"}, 3601.376778)
    assert args[args.index("-output_ts_offset") + 1] == "-3601.376778" and args[-1] == "o.mkv"
    assert "-output_ts_offset" not in J.mux_args(Path("v.mp4"), "src.mp4", Path("o.mkv"), [], {}, 0.0)


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_a_capture_starting_an_hour_in_starts_at_zero_with_audio_in_place(tmp_path, ext):
    """An MPEG-TS capture whose clock starts an hour in: the output starts at 0, as a plain FFmpeg transcode's
    does (not with an hour of empty lead-in), and its audio keeps its offset against the video."""
    src = tmp_path / "late.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i", "sine=duration=2",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-output_ts_offset", "3600", "-f", "mpegts",
           str(src))

    def firsts(path):
        with av.open(str(path)) as c:
            out = {}
            for p in c.demux():
                if p.pts is not None and p.stream.type not in out:
                    out[p.stream.type] = p.pts * p.stream.time_base
            return out

    out = tmp_path / f"o{ext}"
    res = encode(src, out, jobs=1)
    got, want = firsts(out), firsts(src)
    assert want["video"] > 3600 and min(got.values()) == 0
    # a timeline a sidecar or an EDL counts on moved: said
    assert any(n.startswith("the input starts at 3601.") and "the output starts at 0" in n for n in res.notes)
    assert abs((got["video"] - got["audio"]) - (want["video"] - want["audio"])) <= Fraction(1, 1000)


def test_a_capture_cut_mid_gop_keeps_its_video_in_place_against_its_audio(tmp_path):
    """An MPEG-TS cut mid-GOP: its first packets decode to nothing, so packets and frames differ in number. The
    output's first frame keeps its place against the audio (as a plain transcode's does), not moved to 0."""
    whole = tmp_path / "whole.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=6", "-f", "lavfi", "-i", "sine=duration=6",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac", "-f", "mpegts", str(whole))
    data = whole.read_bytes()
    src = tmp_path / "cut.ts"
    src.write_bytes(data[(len(data) // 3) // 188 * 188:])  # whole 188-byte TS packets from a third of the way in
    with av.open(str(src)) as c:
        first_video = next(f.pts * f.time_base for f in c.decode(video=0))
    with av.open(str(src)) as c:
        packets = sum(1 for p in c.demux(video=0) if p.size)
    with av.open(str(src)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    with av.open(str(src)) as c:
        first_audio = next(p.pts * p.time_base for p in c.demux(audio=0) if p.pts is not None)
    assert packets > frames  # the lead-in this test is about
    out = tmp_path / "o.mp4"
    r = encode(src, out, jobs=1)
    # the frames lost are said, and why: not a file cut short
    assert any("before its first key frame" in n and f"encoded the {frames} frames" in n for n in r.notes), r.notes
    with av.open(str(out)) as c:
        got_video = next(f.pts * f.time_base for f in c.decode(video=0))
    with av.open(str(out)) as c:
        got_audio = next(p.pts * p.time_base for p in c.demux(audio=0) if p.pts is not None)
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == frames
    assert abs((got_video - got_audio) - (first_video - first_audio)) <= Fraction(1, 500)


def test_jobs_do_not_change_the_output(cut_clip, tmp_path):
    a, b = tmp_path / "j1.mp4", tmp_path / "j2.mp4"
    encode(cut_clip, a, jobs=1)
    encode(cut_clip, b, jobs=2)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("offset", [-8, 8])
def test_a_bad_start_converges_into_the_band(cut_clip, tmp_path, offset):
    """Start every shot 8 CRF away from where balanced lands it: the loop still ends inside the band."""
    first = encode(cut_clip, tmp_path / "ref.mp4", jobs=2)
    plan = replace(first.plan, shots=[replace(s, crf=min(max(s.crf + offset, 10), 40)) for s in first.plan.shots])
    options = loop_options.LoopOptions(budget=5, jobs=2)
    _, res = shotloop.run(cut_clip, tmp_path / "o.mp4", plan, probe(cut_clip), target=94.0, options=options,
                          thresholds=DEFAULT_THRESHOLDS, stream_maps=[], stream_kw={})
    for s in res.shots:
        assert s.outcome in ("in_band", "clamped"), [(a.crf, round(a.vmaf, 2)) for a in s.attempts]
        assert len(s.attempts) <= 5


def test_a_shot_already_in_band_is_encoded_once(cut_clip, tmp_path):
    first = encode(cut_clip, tmp_path / "ref.mp4", jobs=2)
    inside = [i for i, s in enumerate(first.loop.shots) if s.outcome == "in_band"]
    assert inside
    _, res = shotloop.run(cut_clip, tmp_path / "o.mp4", first.plan, probe(cut_clip), target=94.0,
                          options=loop_options.LoopOptions(jobs=2), thresholds=DEFAULT_THRESHOLDS, stream_maps=[],
                          stream_kw={})
    for i in inside:
        assert len(res.shots[i].attempts) == 1


def test_failed_segment_encode_is_an_error_and_no_output(cut_clip, tmp_path):
    """A segment encode that fails (forced: a wrapper around the real FFmpeg refuses segment encodes) ends the
    command with one line naming the input, exit 1, no output and no temp files."""
    from jndenc.media.ffbin import ffmpeg_exe

    wrapper = tmp_path / "bin" / "ffmpeg"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\ncase "$*" in *stitchable*) echo "forced failure" >&2; exit 1;; esac\n'
                       f'exec "{ffmpeg_exe()}" "$@"\n')
    wrapper.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "o.mp4"
    p = subprocess.run([sys.executable, "-m", "jndenc.cli", "encode", str(cut_clip), str(out), "-q"],
                       capture_output=True, text=True, env={**os.environ, "JNDENC_FFMPEG": str(wrapper)})
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and str(cut_clip) in p.stderr
    assert list(work.iterdir()) == []


def test_effort_and_mode_are_exclusive_and_target_vmaf_needs_the_loop(cut_clip, tmp_path):
    with pytest.raises(UserError, match="--effort"):
        encode(cut_clip, tmp_path / "o.mp4", effort="balanced", mode="probe")
    with pytest.raises(UserError, match="--target-vmaf"):
        encode(cut_clip, tmp_path / "o.mp4", effort="fast", target_vmaf=90)


def test_target_vmaf_moves_every_shot(cut_clip, tmp_path):
    r = encode(cut_clip, tmp_path / "o.mp4", target_vmaf=88, jobs=2)
    assert r.target_vmaf == 88
    assert r.loop.band.low == pytest.approx(87.7)
    for s in r.loop.shots:
        assert s.outcome in ("in_band", "clamped") or spent(s, r.loop.band)


def test_interrupt_mid_loop_leaves_nothing(tmp_path):
    big = tmp_path / "big.mp4"
    make_cut_clip(big, size="640x360", seconds=(4, 4, 4), audio=False)
    out = tmp_path / "o.mp4"
    with interruptible([sys.executable, "-m", "jndenc.cli", "encode", str(big), str(out), "--preset", "slow", "-q"],
                       stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.time() + 60
        while time.time() < deadline and not list(tmp_path.glob(".jndenc-segments-*/shot*")):
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.mp4"]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads children from /proc (Linux)")
def test_an_encode_killed_outright_takes_its_ffmpeg_with_it(tmp_path):
    # SIGKILL (the OOM killer) runs no handler: the running attempt's FFmpeg encoded on into the work folder
    big = tmp_path / "big.mp4"
    make_cut_clip(big, size="640x360", seconds=(4, 4, 4), audio=False)
    out = tmp_path / "o.mp4"
    # veryslow: its lookahead keeps the attempt from writing a line for a while (once it writes to its closed
    # stderr pipe an orphaned FFmpeg dies anyway)
    with interruptible([sys.executable, "-m", "jndenc.cli", "encode", str(big), str(out), "--preset", "veryslow",
                        "-q", "--jobs", "1"], stderr=subprocess.DEVNULL) as proc:
        deadline = time.time() + 60
        while time.time() < deadline and not list(tmp_path.glob(".jndenc-segments-*/shot*")):
            time.sleep(0.05)
        time.sleep(0.1)
        children = _children(proc.pid)  # the attempt's FFmpeg
        assert children, "no FFmpeg started"
        proc.kill()
        proc.wait()
    deadline = time.time() + 2  # at once: left alone, it ran on until its next line to the closed stderr
    while time.time() < deadline and any(_alive(c) for c in children):
        time.sleep(0.1)
    assert not any(_alive(c) for c in children)
    assert not out.exists()
    # its work folder stays (nothing ran to remove it) until a later run beside it finds no run holding it
    left = list(tmp_path.glob(".jndenc-segments-*"))
    assert len(left) == 1
    from jndenc import resume

    held = tmp_path / ".jndenc-segments-live"  # a live run's, locked
    held.mkdir()
    lock = resume.ShotStore(held)
    lock.acquire()
    for d in (left[0], held):
        os.utime(d, (time.time() - 2 * resume.ORPHAN_AGE_S,) * 2)
    try:
        encode(big, tmp_path / "later.mp4", crf=30)
    finally:
        lock.release()
    assert not left[0].exists() and held.is_dir()


def test_cli_json_reports_the_loop(cut_clip, tmp_path):
    out = tmp_path / "o.mp4"
    p = subprocess.run([sys.executable, "-m", "jndenc.cli", "encode", str(cut_clip), str(out), "--json"],
                       capture_output=True, text=True, check=True)
    d = json.loads(p.stdout)
    assert d["effort"] == "balanced" and d["mode"] == "loop"  # not the start's mode: no one-pass predict encode
    assert d["loop"]["encoded_over_output_frames"] >= 1.0
    assert all("vmaf" in s and "attempts" in s for s in d["shots"])
    most = d["loop"]["budget"] + d["loop"]["budget_extra"]
    assert (d["loop"]["budget"], most) == (3, 4) and all(len(s["attempts"]) <= most for s in d["shots"])


def test_pieces_of_a_long_shot_end_within_a_crf_step(tmp_path):
    """A 6 s shot split at --max-shot-seconds 1 into six pieces: the kept CRFs differ by at most one step."""
    src = tmp_path / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=6", "-vf",
           "noise=alls=30:allf=t+u:enable='gte(t,3)'", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10",
           str(src))
    from jndenc.analyze import ShotOptions

    r = encode(src, tmp_path / "o.mp4", jobs=2, shot_options=ShotOptions(max_shot_seconds=1.0))
    assert len(r.plan.shots) >= 4 and r.plan.stats["cuts"] == []
    crfs = [s.crf for s in r.plan.shots]
    assert max(crfs) - min(crfs) <= 1.0, crfs
    # later pieces start where the first piece's attempts put the aim, not at the model's estimate
    d = r.to_dict()
    head = r.loop.shots[0]  # its attempts, and one more where the join lowered it
    aims = {loop.quantise(min(loop.aim_crf(head.attempts[:k], r.loop.band, slope=head.slope),
                              head.attempts[loop.kept(head.attempts[:k], r.loop.band)].crf + loop.JOIN_STEP))
            for k in range(1, len(head.attempts) + 1)}
    assert "started_from" not in d["shots"][0]
    assert len({s["attempts"][0]["crf"] for s in d["shots"][1:]}) == 1
    for s in d["shots"][1:]:
        assert s["started_from"] == 0 and s["attempts"][0]["crf"] in aims
    # no later piece tries a CRF more than a step above its first piece's kept one: the join would encode that
    # step again (an attempt at 24.75 read 95.06, the next at 26 was thrown away and 24.75 encoded once more)
    own = head.attempts[:-1] if head.joined else head.attempts
    cap = own[loop.kept(own, r.loop.band)].crf + loop.JOIN_STEP
    assert all(a.crf <= cap + 1e-9 for s in r.loop.shots[1:] for a in s.attempts)
    # a piece the join lowered keeps that last attempt whatever it read, and says so rather than "above the band"
    joined = [i for i, s in enumerate(d["shots"]) if s.get("joined")]
    for i in joined:
        assert d["shots"][i]["kept"] == len(d["shots"][i]["attempts"]) - 1
    said = [n for n in r.notes if "where they join" in n]
    assert bool(said) == bool(joined) and not any(f"shot(s) {i} above" in n for i in joined for n in r.notes)
    encode(src, tmp_path / "j1.mp4", jobs=1, shot_options=ShotOptions(max_shot_seconds=1.0))
    assert (tmp_path / "o.mp4").read_bytes() == (tmp_path / "j1.mp4").read_bytes()  # the waves do not depend on jobs


def test_a_joined_piece_is_said_as_such_not_as_above_the_band():
    from jndenc.loop_options import LoopOptions
    from jndenc.shotjob import ShotLoop
    from jndenc.shotloop import LoopResult, outcome_notes

    band = loop.Band.around(94.0)
    up = [loop.Attempt(26.0, 94.5, 900), loop.Attempt(24.0, 95.8, 1200)]
    shots = [ShotLoop(0, 25, up, 1, "above", 95.0, joined=True),
             ShotLoop(25, 50, up[:1] + [loop.Attempt(28.0, 95.6, 700)], 1, "above", 95.0)]
    notes = outcome_notes(LoopResult(shots, band, LoopOptions(), 50))
    assert notes[0].startswith("shot(s) 1 above the band") and "shot(s) 0 kept within one CRF step" in notes[1]
    assert shots[0].to_dict()["joined"] is True and "joined" not in shots[1].to_dict()


def test_a_shot_below_the_band_at_the_finest_crf_allowed_says_so():
    # the x265 soak's grass-and-fog shot needed finer than --min-crf 12: "after its attempts" hid the clamp
    from jndenc.loop_options import LoopOptions
    from jndenc.shotjob import ShotLoop
    from jndenc.shotloop import LoopResult, outcome_notes

    band = loop.Band.around(94.0)
    floor = [loop.Attempt(20.5, 86.6, 500), loop.Attempt(12.0, 93.3, 2000)]
    short = [loop.Attempt(30.0, 88.0, 300), loop.Attempt(24.0, 92.0, 600), loop.Attempt(22.0, 93.1, 700)]
    shots = [ShotLoop(0, 25, floor, 1, "below", 92.7), ShotLoop(25, 50, short, 2, "below", 92.5)]
    notes = outcome_notes(LoopResult(shots, band, LoopOptions(), 50), min_crf=12.0)
    assert notes[0].startswith("shot(s) 0 below the band at --min-crf")
    assert notes[1].startswith("shot(s) 1 below the band after its attempts")


def test_frames_too_small_for_vmaf_fall_back_to_fast_with_a_note(tmp_path):
    tiny = tmp_path / "tiny.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=16x16:rate=25:duration=1", "-c:v", "libx264", str(tiny))
    r = encode(tiny, tmp_path / "o.mp4")
    assert r.effort == "fast" and any("too small for VMAF" in n for n in r.notes)
    # fast's probes cannot be scored either: the frame model alone, at the level that keeps 9 shots in 10 safe
    assert r.mode == "predict" and r.to_dict()["margin"]["confidence"] == UNMEASURED_CONFIDENCE
    assert any("no probe encodes" in n for n in r.notes)
    with pytest.raises(UserError, match="tiny.mp4: 16x16 frames are too small"):
        encode(tiny, tmp_path / "t.mp4", tighten=True)
    r = encode(tiny, tmp_path / "v.mp4", mode="predict", verify=True)
    assert r.quality is None and any("not verified" in n for n in r.notes)


@pytest.mark.parametrize("codec,suffix,encoder", [("av1", ".mkv", "av1"), ("vp9", ".webm", "vp9")])
def test_av1_and_vp9_run_through_the_loop(cut_clip, tmp_path, codec, suffix, encoder):
    """Encoders without per-frame zones in FFmpeg: each shot a segment on the encoder's own CRF scale, whole steps;
    WebM gets Opus audio."""
    out = tmp_path / f"o{suffix}"
    r = encode(cut_clip, out, codec=codec, jobs=2)
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name in (encoder, "libdav1d", "libaom-av1", "libvpx-vp9")
        assert len(c.streams.audio) == 1
    assert frame_times(out) == frame_times(cut_clip)
    assert r.codec == codec and all(float(a.crf).is_integer() for s in r.loop.shots for a in s.attempts)
    for s in r.loop.shots:
        assert s.outcome in ("in_band", "clamped") or spent(s, r.loop.band), [(a.crf, a.vmaf) for a in s.attempts]
    with pytest.raises(UserError, match="shot loop"):
        encode(cut_clip, tmp_path / "x.mkv", codec=codec, effort="fast")


@pytest.mark.parametrize("encoder", ["libaom-av1", "librav1e"])
def test_other_av1_encoders_run_through_the_loop_on_their_own_scale(cut_clip, tmp_path, encoder, capsys):
    """--encoder: the same loop with the encoder's own quality scale (rav1e's quantizer index is 0-255), its
    start mapped from the model's x264 estimate by its shipped calibration."""
    out = tmp_path / "o.mkv"
    r = encode(cut_clip, out, codec="av1", encoder=encoder, jobs=2)
    want = starts.on_codec(r.plan, "av1", encoder)  # the plan kept is on the encoder's scale already
    assert r.plan.options["encoder"] == encoder == r.to_dict()["encoder"]
    from jndenc.cli.report import print_result

    print_result(r)
    assert f"av1 ({encoder}) medium" in capsys.readouterr().out  # the summary names a non-default encoder
    assert want.options["x264_to_codec"] == list(starts.codec_scale("av1", encoder))
    lo, hi = S.QUALITY_RANGE[encoder]
    assert all(lo <= a.crf <= hi and float(a.crf).is_integer() for s in r.loop.shots for a in s.attempts)
    if encoder == "librav1e":  # its scale spans 0-255: starts sit far above any CRF
        assert max(s.attempts[0].crf for s in r.loop.shots) > 63
    assert frame_times(out) == frame_times(cut_clip)
    for s in r.loop.shots:
        assert s.outcome in ("in_band", "clamped") or spent(s, r.loop.band), [(a.crf, a.vmaf) for a in s.attempts]
    with pytest.raises(UserError, match="does not encode x264"):
        encode(cut_clip, tmp_path / "x.mkv", encoder=encoder)


def test_webm_refuses_h264(cut_clip, tmp_path):
    with pytest.raises(UserError, match="WebM carries VP9 or AV1"):
        encode(cut_clip, tmp_path / "o.webm")


def test_target_vmaf_moves_an_av1_start_on_the_x264_scale_before_mapping_it(cut_clip, tmp_path):
    """--target-vmaf shifts each start by the model's x264 slope; only then does AV1 map the CRF (whole steps)."""
    from jndenc.pipeline import plan as make_plan

    base = make_plan(cut_clip, mode="predict", margin="auto", confidence=0.5)
    want = starts.on_codec(starts.start_at(base, 90.0, DEFAULT_THRESHOLDS), "av1")
    r = encode(cut_clip, tmp_path / "o.mkv", codec="av1", target_vmaf=90, jobs=2)
    assert [s.attempts[0].crf for s in r.loop.shots] == [s.crf for s in want.shots]


@pytest.fixture
def dask_scheduler(tmp_path):
    """A real `dask scheduler` and two `dask worker`s of one thread each, as separate processes."""
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)]
    try:
        for k in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                                           "--no-dashboard", "--no-nanny", "--name", f"w{k}"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path))
        from distributed import Client

        deadline = time.time() + 60
        with Client(addr, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.time() < deadline, "dask workers did not start"
                time.sleep(0.2)
        yield addr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_dask_workers_encode_the_shots_byte_identical_to_a_local_run(cut_clip, tmp_path, dask_scheduler):
    local = encode(cut_clip, tmp_path / "local.mp4", jobs=2)
    p = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(cut_clip), str(tmp_path / "remote.mp4"),
                        "--dask", dask_scheduler, "--json", "-q"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert (tmp_path / "remote.mp4").read_bytes() == (tmp_path / "local.mp4").read_bytes()
    assert d["loop"]["attempts"] == local.to_dict()["loop"]["attempts"]
    assert any("Dask workers" in n for n in d["notes"])
    assert not list(tmp_path.glob(".jndenc-segments-*"))


def _ffmpeg_pids_on(path: Path) -> set[int]:
    """The FFmpeg processes whose command line names ``path`` (the workers' encodes of one run)."""
    pids = set()
    for d in Path("/proc").iterdir():
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if cmd and b"ffmpeg" in Path(cmd[0].decode(errors="replace")).name.encode() \
                and any(str(path).encode() in a for a in cmd):
            pids.add(int(d.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the workers' processes from /proc")
def test_a_killed_dask_client_leaves_no_encode_running_on_the_workers(tmp_path, dask_scheduler):
    """`kill -9` of `jndenc encode --dask` (a pipeline's timeout, the OOM killer) can stop nothing itself: the
    scheduler lets go of its tasks, and each worker's shot must then stop its FFmpeg rather than run its attempts
    on for minutes."""
    src = tmp_path / "long.mp4"  # one shot of 12 s at 720p: one attempt takes far longer than the wait below
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=12", "-vf", "noise=alls=12:allf=t",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", str(src))
    work = tmp_path / "out"
    work.mkdir()
    client = subprocess.Popen([sys.executable, "-m", "jndenc", "encode", str(src), str(work / "o.mp4"), "--dask",
                               dask_scheduler, "--max-shot-seconds", "60", "-q"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (running := _ffmpeg_pids_on(work)):
            assert client.poll() is None and time.time() < deadline, "no encode started on the workers"
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        client.kill()
        client.wait()
    deadline = time.time() + 8
    while _ffmpeg_pids_on(work) and time.time() < deadline:
        time.sleep(0.2)
    assert not _ffmpeg_pids_on(work), f"FFmpeg {running} still encoding on a worker 8 s after its client died"
    time.sleep(2 * schedule.RELEASE_POLL_S)
    assert not _ffmpeg_pids_on(work)  # and the stopped shot started no other attempt


def test_hdr_input_keeps_its_metadata_and_says_vmaf_does_not_model_it(tmp_path):
    src = tmp_path / "pq.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-pix_fmt", "yuv420p10le",
           "-c:v", "libx265", "-x265-params", "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
           "-color_primaries", "bt2020",
           "-color_trc", "smpte2084", "-colorspace", "bt2020nc", str(src))
    assert probe(src).hdr == "PQ"
    for codec in ("x264", "av1"):
        r = encode(src, tmp_path / f"o_{codec}.mkv", codec=codec, jobs=1)
        assert any("VMAF does not model HDR" in n for n in r.notes)
        with av.open(str(tmp_path / f"o_{codec}.mkv")) as c:
            ctx = c.streams.video[0].codec_context
            assert ctx.color_trc == 16 and "p10" in ctx.format.name  # PQ and 10 bits kept


def test_a_wave_starts_its_longest_shots_first():
    # a pool takes tasks in order: the 300-frame shot must not be left to run alone at the end
    shots = [ShotPlan(0, 20, None, 23.0), ShotPlan(20, 320, None, 23.0), ShotPlan(320, 340, None, 23.0),
             ShotPlan(340, 440, None, 23.0)]
    tasks = [(i, None, None) for i in range(4)]
    assert [t[0] for t in schedule.longest_first(shots, tasks)] == [1, 3, 0, 2]
    assert [t[0] for t in schedule.longest_first(shots, tasks[::2])] == [0, 2]  # ties keep shot order


def test_every_encoder_spaces_key_frames_as_x264_does():
    """SVT-AV1's and libvpx's own key-frame intervals are shorter than x264's: the same random access would cost
    them an extra key frame inside most long pieces."""
    for codec, encoder in (("av1", ""), ("av1", "libaom-av1"), ("av1", "librav1e"), ("vp9", "")):
        args = S.codec_args(S.SegmentCodec(codec, "medium", 2, 8, encoder), 30)
        assert args[args.index("-g") + 1] == str(S.KEYINT) == "250", encoder or codec
    assert "-g" not in S.codec_args(S.SegmentCodec("x264", "medium", 2, 8, ""), 23)  # x264's default is 250


def test_svt_av1_codes_with_quantisation_matrices_and_no_film_grain():
    args = S.codec_args(S.SegmentCodec("av1", "medium", 2, 8, ""), 35)
    params = dict(kv.split("=") for kv in args[args.index("-svtav1-params") + 1].split(":"))
    assert params["enable-qm"] == "1" and params["film-grain"] == "0" and params["lp"] == "2"


def test_a_subsampled_attempt_scores_every_nth_frame_as_the_full_pass_does(cut_clip, tmp_path):
    """libvmaf's n_subsample still feeds its motion feature every frame: each frame it scores reads exactly what it
    reads in a full pass, so a subsampled mean differs from the full one only by the frames it leaves out."""
    codec = S.SegmentCodec(preset="ultrafast")
    logs = {}
    for n in (1, 4):
        logs[n] = tmp_path / f"v{n}.json"
        ffmpeg(*S.attempt_args(cut_clip, tmp_path / f"o{n}.mkv", logs[n], (10, 70), codec=codec, crf=30,
                               subsample=n))
    full, sub = ({f["frameNum"]: f["metrics"]["vmaf"] for f in json.loads(logs[n].read_text())["frames"]}
                 for n in (1, 4))
    assert sorted(full) == list(range(60)) and sorted(sub) == list(range(0, 60, 4))
    assert all(abs(v - full[k]) < 1e-6 for k, v in sub.items())


def test_an_attempts_decoders_take_the_segments_threads_and_decode_the_same_frames(cut_clip, tmp_path):
    """Both decoders of an attempt (the source's, the encode's loopback) and both of a full measurement take the
    segment's thread count, not FFmpeg's one per core of the machine; decoding is exact on any number."""
    codec = S.SegmentCodec(preset="ultrafast", threads=2)
    ours = S.attempt_args(cut_clip, tmp_path / "a.mkv", tmp_path / "a.json", (10, 70), codec=codec, crf=30)
    i, d = ours.index("-i"), ours.index("-dec")
    assert ours[i - 2:i] == ["-threads", "2"] and ours[d - 2:d] == ["-threads", "2"]
    full = S.measure_args(cut_clip, tmp_path / "a.mkv", tmp_path / "m.json", (10, 70), bit_depth=8, threads=2)
    assert [full[k - 2:k] for k, a in enumerate(full) if a == "-i"] == [["-threads", "2"]] * 2
    # the same run on FFmpeg's own decoder threads, to other files
    default = [a.replace(str(tmp_path / "a."), str(tmp_path / "b.")) for a in ours[:i - 2] + ours[i:d - 2] + ours[d:]]
    ffmpeg(*ours)
    ffmpeg(*default)
    packets = [b"".join(bytes(p) for p in av.open(str(tmp_path / f"{n}.mkv")).demux(video=0) if p.size)
               for n in ("a", "b")]
    scores = [json.loads((tmp_path / f"{n}.json").read_text())["frames"] for n in ("a", "b")]
    assert packets[0] == packets[1] and scores[0] == scores[1] and len(scores[0]) == 60


def test_the_loop_subsamples_only_shots_long_enough_and_keeps_its_band():
    o = loop_options.LoopOptions(subsample=5, subsample_min_frames=48)
    assert (o.every(47), o.every(48)) == (1, 5)
    full = loop_options.LoopOptions()
    assert o.band(94.0) == full.band(94.0)
    assert "every 5th frame" in o.measurement() and full.measurement() == "VMAF of every frame of the segment"
    assert [loop_options.ordinal(n) for n in (1, 2, 3, 5, 12, 22)] == ["1st", "2nd", "3rd", "5th", "12th", "22nd"]
    # measured on x264's frame types only: every other encoder scores every frame
    assert o.for_encoder("libx264") is o
    assert [o.for_encoder(e).every(240) for e in ("libx265", "libsvtav1", "libvpx-vp9")] == [1, 1, 1]


def test_a_sampled_reading_just_above_the_lower_edge_is_measured_again_on_every_frame(cut_clip, tmp_path):
    """Three 50-frame shots (the later two reached by seeking) at one CRF, one attempt each: measured on every
    frame, on every 5th, and on every 5th with every reading rechecked; the recheck gives the full pass's VMAF.
    Readings under the lower edge are not rechecked."""
    plan, info = plan_at(cut_clip, 30)

    def shots(target=94.0, **kw):
        _, res = shotloop.run(cut_clip, tmp_path / "o.mp4", plan, info, target=target,
                              options=loop_options.LoopOptions(budget=1, jobs=2, **kw), thresholds=DEFAULT_THRESHOLDS,
                              stream_maps=[], stream_kw={})
        return [s.vmaf for s in res.shots], sum(s.rechecks for s in res.shots)

    full, _ = shots()
    sampled, none = shots(subsample=5, subsample_min_frames=48, recheck=0.0)
    # a band whose lower edge lies under every reading: each is within the window above it
    rechecked, every = shots(target=50.0, subsample=5, subsample_min_frames=48, recheck=100.0)
    assert none == 0 and every == 3
    assert rechecked == pytest.approx(full, abs=1e-6)
    assert max(abs(a - b) for a, b in zip(sampled, full)) > 1e-3  # the sample is a different mean
    # a band whose lower edge lies over every reading: under the edge, none is measured again
    _, under = shots(target=max(full) + 1.0, subsample=5, subsample_min_frames=48, recheck=100.0)
    assert under == 0


def test_a_sampled_reading_knows_how_sure_it_is():
    """The standard error of every 5th frame's mean: 0 when every frame was scored, small on steady frames,
    large on frames that differ a lot, and unknown (infinite) from one frame standing for the rest."""
    steady = np.array([90.0] + [95.0 + 0.1 * (k % 2) for k in range(10)])
    mixed = np.array([90.0] + [87.0, 98.0] * 5)
    assert S.sampled_error(np.full(48, 95.0), 48) == 0.0
    assert S.sampled_error(steady, 50) < 0.05 < 1.0 < S.sampled_error(mixed, 50)
    assert S.sampled_error(np.array([90.0, 95.0]), 10) == float("inf")
    # the loop's window for such a reading reaches far above the lower edge
    o = loop_options.LoopOptions(subsample=5)
    assert o.recheck_window(S.sampled_error(mixed, 50)) > 2.0
    assert o.recheck_window(S.sampled_error(steady, 50)) == o.recheck  # a steady sample keeps the study's window


def test_a_budget_spent_on_both_sides_of_the_band_buys_one_more_attempt(cut_clip, tmp_path):
    """Real encodes from a start 8 CRF too coarse, a budget of two and the narrowest band: a shot whose two attempts
    fall on both sides of the band takes exactly one more (`jndenc.loop.allowed`; on this clip at least one does),
    every other shot stops at two."""
    first = encode(cut_clip, tmp_path / "ref.mp4", jobs=2)
    plan = replace(first.plan, shots=[replace(s, crf=min(s.crf + 8, 40)) for s in first.plan.shots])
    options = loop_options.LoopOptions(budget=2, below=0.1, above=0.1, aim=0.0, jobs=2)
    _, res = shotloop.run(cut_clip, tmp_path / "o.mp4", plan, probe(cut_clip), target=94.0, options=options,
                          thresholds=DEFAULT_THRESHOLDS, stream_maps=[], stream_kw={})
    band = loop.Band.around(94.0, below=0.1, above=0.1, aim=0.0)
    extra = 0
    for s in res.shots:
        two = s.attempts[:2]
        both_sides = loop.allowed(two, band, 2) == 3  # the rule itself: tests/test_loop.py
        assert len(s.attempts) <= (3 if both_sides else 2), [(a.crf, round(a.vmaf, 2)) for a in s.attempts]
        if both_sides and loop.next_crf(two, band, slope=s.slope, min_crf=10, max_crf=40) is not None:
            assert len(s.attempts) == 3
            extra += 1
    assert extra >= 1, [[(a.crf, round(a.vmaf, 2)) for a in s.attempts] for s in res.shots]


@pytest.fixture(scope="module")
def return_clip(tmp_path_factory) -> Path:
    """A cut back: testsrc2 for 2 s, mandelbrot for 2 s, then testsrc2 again from where it left off (one
    camera of a dialogue, cut away from and back to)."""
    p = tmp_path_factory.mktemp("returns") / "aba.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4", "-f", "lavfi", "-i",
           "mandelbrot=size=160x120:rate=25", "-filter_complex",
           "[0:v]split[a][c];[a]trim=end_frame=50,setpts=PTS-STARTPTS[a1];"
           "[c]trim=start_frame=50:end_frame=100,setpts=PTS-STARTPTS[a2];"
           "[1:v]trim=end_frame=50,setpts=PTS-STARTPTS[b];[a1][b][a2]concat=n=3:v=1:a=0[v]", "-map", "[v]",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", str(p))
    return p


def test_a_shot_that_cuts_back_starts_from_what_the_earlier_one_measured(return_clip, tmp_path):
    r = encode(return_clip, tmp_path / "o.mp4", jobs=2)
    assert r.plan.stats["cuts"] == [50, 100] and r.plan.stats["returns"] == [[100, 0]]
    d = r.to_dict()
    assert "started_from" not in d["shots"][0] and "started_from" not in d["shots"][1]
    assert d["shots"][2]["started_from"] == 0
    # its own estimate moved as far as shot 0's attempts moved shot 0's
    model = [lab["model"] for lab in d["start"]["labels"]]
    head = r.loop.shots[0]
    aim = loop.aim_crf(head.attempts, r.loop.band, slope=head.slope, steeper_up=True)
    assert r.loop.shots[2].attempts[0].crf == loop.quantise(model[2] + aim - model[0])
    assert len(r.loop.shots[2].attempts) <= len(head.attempts)
    encode(return_clip, tmp_path / "j1.mp4", jobs=1)
    assert (tmp_path / "o.mp4").read_bytes() == (tmp_path / "j1.mp4").read_bytes()


def test_an_interrupt_stops_the_shots_running_on_dask_workers(tmp_path, dask_scheduler):
    psutil = pytest.importorskip("psutil")  # distributed needs it: present wherever the fixture is
    from distributed import Client

    with Client(dask_scheduler, timeout="30s") as client:
        workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]

    def ffmpeg_on_workers() -> list:
        return [c for w in workers for c in w.children(recursive=True) if "ffmpeg" in c.name()]

    folder = tmp_path / "enc"
    folder.mkdir()
    big = make_cut_clip(folder / "big.mp4", size="640x360", seconds=(4, 4, 4), audio=False)
    with interruptible([sys.executable, "-m", "jndenc", "encode", str(big), str(folder / "o.mp4"), "--preset",
                        "placebo", "--dask", dask_scheduler, "-q"], stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.time() + 60
        while time.time() < deadline and not list(folder.glob(".jndenc-segments-*/shot*")):
            time.sleep(0.05)
        assert ffmpeg_on_workers(), "no shot was running on the workers when interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    deadline = time.time() + 3  # placebo: an attempt left running would go on far longer
    while ffmpeg_on_workers() and time.time() < deadline:
        time.sleep(0.1)
    assert not ffmpeg_on_workers()
    time.sleep(2)  # and it stays so: nothing of the run goes on writing here
    assert sorted(p.name for p in folder.iterdir()) == ["big.mp4"]
    assert all(w.is_running() for w in workers)  # a stopped task fails; its worker stays up for other clients


def test_stopping_a_group_kills_only_its_ffmpeg_and_any_it_starts_later():
    from concurrent.futures import ThreadPoolExecutor

    from jndenc.errors import FFmpegError
    from jndenc.media import runner

    endless = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-f", "null", "-"]

    def in_group(name):
        with runner.ffmpeg_group(name):
            return runner.run_ffmpeg(endless, what=name)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(in_group, "run-a"), pool.submit(in_group, "run-b")
        time.sleep(1.0)
        runner.stop_group("run-a")
        with pytest.raises(FFmpegError):
            a.result(timeout=10)
        assert not b.done()  # another caller's encode on the same worker runs on
        t0 = time.time()
        with pytest.raises(FFmpegError):  # a task of the stopped run that starts late is stopped at once
            in_group("run-a")
        assert time.time() - t0 < 5
        runner.stop_group("run-b")
        with pytest.raises(FFmpegError):
            b.result(timeout=10)
    assert runner.group_tasks("run-a") == runner.group_tasks("run-b") == 0


def test_an_ffmpeg_stopped_on_purpose_leaves_no_log(tmp_path, monkeypatch):
    # a failure's log in the temp folder helps the user; a pool's other encodes killed on Ctrl-C are no failure
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from jndenc.errors import FFmpegError
    from jndenc.media import runner

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(runner.run_ffmpeg, ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-f", "null", "-"],
                          what="an endless encode")
        time.sleep(1.0)
        runner.kill_running()
        with pytest.raises(FFmpegError, match="stopped") as exc:
            job.result(timeout=10)
    assert exc.value.log_path is None and list(tmp_path.iterdir()) == []
    with pytest.raises(FFmpegError) as exc:  # a real failure still keeps its log
        runner.run_ffmpeg(["-f", "lavfi", "-i", "nosuchsource", "-f", "null", "-"], what="a bad graph")
    assert exc.value.log_path and Path(exc.value.log_path).parent == tmp_path


def test_a_source_with_frames_closer_than_its_frame_rate_joins_with_its_own_timestamps(tmp_path):
    # a screen recording's bursts: mostly 60 fps, some frames 11.7 ms apart; on the encoder's default 1/frame-rate
    # grid two of them were stamped alike and the join refused the segment (the default encode failed)
    from fractions import Fraction

    src = tmp_path / "bursts.mp4"
    pts, t = [], 0
    for n in range(150):
        pts.append(t)
        t += 7 if n % 9 == 8 else (20 if n % 13 == 12 else 10)  # in 1/600 s
    rng = np.random.default_rng(0)
    base = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    with av.open(str(src), "w") as out:
        st = out.add_stream("libx264", rate=60)
        st.width, st.height, st.pix_fmt, st.options = 160, 120, "yuv420p", {"preset": "ultrafast"}
        st.codec_context.time_base = Fraction(1, 600)
        for n, p in enumerate(pts):
            f = av.VideoFrame.from_ndarray(np.roll(base, 2 * n, axis=1), format="rgb24").reformat(format="yuv420p")
            f.pts, f.time_base = p, Fraction(1, 600)
            for pk in st.encode(f):
                out.mux(pk)
        for pk in st.encode():
            out.mux(pk)
    assert variable_rate(J.source_timestamps(src, 0, 150).pts)
    r = encode(src, tmp_path / "o.mp4")
    assert r.frames == 150 and frame_times(tmp_path / "o.mp4") == frame_times(src)
    # the one-pass path likewise: FFmpeg's 1/frame-rate encoder time base moved these frames onto its grid
    one = encode(src, tmp_path / "fast.mp4", effort="fast")
    assert one.loop is None and frame_times(tmp_path / "fast.mp4") == frame_times(src)
    assert not variable_rate([0, 33, 67, 100, 133, 167, 200])  # 30 fps on a millisecond grid is even


def test_svt_av1_segments_at_fine_crfs_decode_to_the_picture_and_join_with_coarse_ones(tmp_path):
    """SVT-AV1 with quantisation matrices broke 8-bit pictures at its finest CRFs (mean error 7 levels on this
    zoom at CRF 4 where 0.7 is normal at CRF 8): a shot needing them read worse the finer it went and ended
    below the target. Such segments go without them, and join with segments that use them."""
    src = tmp_path / "zoom.mkv"
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25", "-frames:v", "16", "-c:v", "ffv1", str(src))
    assert "enable-qm=0" in S.encoder_args(S.SegmentCodec("av1"), 4)[-1]
    assert "enable-qm=1" in S.encoder_args(S.SegmentCodec("av1"), S.SVT_QM_MIN_CRF)[-1]
    assert "enable-qm=1" in S.encoder_args(S.SegmentCodec("av1", bit_depth=10), 4)[-1]
    codec = S.SegmentCodec("av1", "medium", 1, 8)
    segs = []
    for k, (crf, frames, seek) in enumerate(((4, (0, 8), []), (30, (0, 8), S.seek_args(8 / 25, 7 / 25)))):
        seg = tmp_path / f"s{k}.mkv"
        m = S.run_attempt(src, seg, frames, codec=codec, crf=crf, seek=seek, what="a test attempt")
        assert m.frames == 8
        segs.append(seg)
    assert S.run_attempt(src, tmp_path / "fine.mkv", (0, 8), codec=codec, crf=4, what="again").vmaf > 95
    stamps = J.source_timestamps(src, 0, 16)
    out = tmp_path / "joined.mp4"
    J.join(segs, [0, 8], stamps.pts, stamps.time_base, out, stamps.end)
    with av.open(str(out)) as a, av.open(str(src)) as b:
        got = [f.to_ndarray(format="gray").astype(float) for f in a.decode(video=0)]
        want = [f.to_ndarray(format="gray").astype(float) for f in b.decode(video=0)]
    errors = [float(np.mean(np.abs(g - w))) for g, w in zip(got, want)]
    assert len(got) == 16 and max(errors[:8]) < 2.0 and max(errors[8:]) < 6.0, errors


@pytest.mark.parametrize("codec", ["av1", "vp9"])
def test_an_anamorphic_source_keeps_its_pixel_aspect_on_codecs_whose_bitstream_has_none(tmp_path, codec):
    """AV1 and VP9 carry no sample aspect ratio of their own: the joined output's container states the source's
    (a 16:9 DVD frame of 720x480 shown at 3:2 would be squeezed)."""
    src = tmp_path / "anamorphic.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=144x96:rate=25:duration=1", "-vf", "setsar=32/27", "-c:v", "libx264",
           "-preset", "ultrafast", str(src))
    assert av.open(str(src)).streams.video[0].sample_aspect_ratio == Fraction(32, 27)
    out = tmp_path / "o.mkv"
    encode(src, out, codec=codec, jobs=1)
    with av.open(str(out)) as c:
        assert c.streams.video[0].sample_aspect_ratio == Fraction(32, 27)


def test_an_avi_output_keeps_the_sources_frame_rate(cut_clip, tmp_path):
    """AVI stores one frame per tick of its time base: copied from the join's MP4 it declared 600 fps, 24 index
    entries a frame, where a plain FFmpeg transcode declares the source's 25."""
    out = tmp_path / "o.avi"
    r = encode(cut_clip, out, jobs=2)
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert v.time_base == Fraction(1, 25) and v.average_rate == 25
        assert v.frames == r.frames == sum(1 for p in c.demux(v) if p.size)


@pytest.mark.parametrize("every", [1, 3])
def test_an_attempt_reads_its_first_frame_as_the_finished_file_does(cut_clip, tmp_path, every):
    """VMAF's motion term reads the reference alone, from the frame before: a segment scored on its own read its
    first frame as still (several VMAF low after a cut) where the finished file has the frame before. With the
    frames before the shot scored in front (``lead``, dropped from the result) the attempt's frames read as the
    same frames of the finished file do, computed here by a plain libvmaf run over the source's frames with the
    shot's segment in place of 100-149 (the noisy shot: its frames move most)."""
    a, b = 100, 150
    times = J.source_timestamps(cut_clip, 0, 150)
    t = lambda k: float(times.pts[k] * times.time_base)  # noqa: E731
    codec = S.SegmentCodec(preset="ultrafast")
    got = {}
    for lead in (0, every):
        f = a - lead
        seg = tmp_path / f"l{lead}.mkv"
        log = tmp_path / f"l{lead}.json"
        ffmpeg(*S.attempt_args(cut_clip, seg, log, (lead, b - a + lead), codec=codec, crf=30,
                               seek=S.seek_args(t(f), t(f - 1)), subsample=every, lead=lead))
        got[lead] = S.read_scores(log, lead)
        assert got[lead].size == len(range(0, b - a, every))  # the shot's frames only, its first frame first
    log = tmp_path / "file.json"
    ffmpeg("-i", str(tmp_path / f"l{every}.mkv"), "-i", str(cut_clip), "-lavfi",
           f"[1:v]split[s1][s2];[s1]trim=end_frame={a},format=yuv420p,setpts=N/25/TB[h];"
           f"[0:v]format=yuv420p,setpts=N/25/TB[g];[h][g]concat=n=2:v=1:a=0,settb=1/25,setpts=N[d];"
           f"[s2]trim=end_frame={b},format=yuv420p,settb=1/25,setpts=N[r];"
           f"[d][r]libvmaf=model=version=vmaf_v0.6.1:log_fmt=json:log_path={log}", "-f", "null", "-")
    file = np.array([f["metrics"]["vmaf"] for f in json.loads(log.read_text())["frames"]])[a:b:every]
    np.testing.assert_allclose(got[every], file, atol=0.01)
    assert got[0][0] < file[0] - 2.0  # alone, the first frame read as still
    np.testing.assert_allclose(got[0][1:], file[1:], atol=0.01)  # the others read the same either way
