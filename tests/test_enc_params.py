"""`--enc KEY=VALUE`: a user's own encoder options reach every encode (the loop's attempts and the one-pass
paths), merged with jndenc's own; what jndenc decides is refused in one line."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from jndenc.errors import UserError
from jndenc.media import enc_params as E
from jndenc.media.segments import SegmentCodec, codec_args, keyframe_grid
from jndenc.planner import Plan, ShotPlan, Zone

from conftest import make_cut_clip


def test_parse_pairs_and_drops_a_leading_dash():
    assert E.parse(["maxrate=6M", "-profile:v=high", "x264-params=aq-mode=3:deblock=-1,-1"]) == (
        ("maxrate", "6M"), ("profile:v", "high"), ("x264-params", "aq-mode=3:deblock=-1,-1"))


@pytest.mark.parametrize("item, needle", [
    ("maxrate", "KEY=VALUE"), ("=3", "KEY=VALUE"), ("g=", "KEY=VALUE"),
    ("crf=20", "sets -crf itself"), ("c:v=libx265", "sets -c:v"), ("preset=slow", "sets -preset"),
    ("threads=4", "sets -threads"), ("b:v=2M", "sets -b:v"),
    ("x264-params=aq-mode=3:stitchable=0", "stitchable"), ("svtav1-params=film-grain=8", "film-grain"),
])
def test_parse_refuses_what_jndenc_decides(item, needle):
    with pytest.raises(UserError, match=needle):
        E.parse([item])


@pytest.mark.parametrize("value", ["-5", "0", "abc", "4.5"])
def test_a_key_frame_interval_must_be_a_count_of_frames(value):
    # FFmpeg itself took g=-5 and quietly used the encoder's default interval
    with pytest.raises(UserError, match="whole number of frames"):
        E.parse([f"g={value}"])
    assert E.gop(E.parse(["g=48"])) == 48 and E.gop(E.parse(["maxrate=6M"])) is None
    # the same interval given the encoder's own way
    assert E.gop(E.parse(["x264-params=keyint=60:min-keyint=60:scenecut=0"])) == 60
    assert E.gop(E.parse(["svtav1-params=tune=0:keyint=96"])) == 96


def test_the_key_frame_grid_counts_from_the_outputs_first_frame():
    assert keyframe_grid(None, 120) == []
    assert keyframe_grid(48, 120) == ["-force_key_frames", "expr:eq(mod(n+120,48),0)"]
    # frame n of a segment starting at frame 120 is output frame 120 + n: 144 and 192 are on the grid
    assert [n for n in range(130) if (n + 120) % 48 == 0] == [24, 72, 120]
    plan = Plan(frames=100, fps=25.0, codec="x264", preset="medium", mode="predict",
                shots=[ShotPlan(0, 35, None, 23.0), ShotPlan(35, 100, None, 25.0)],
                zones=[Zone(0, 35, 23.0), Zone(35, 100, 25.0)], shot_times=[0.0, 1.4])
    assert plan.force_key_frames() == "0.000000,1.390000"
    assert plan.force_key_frames(30) == "0.000000,1.190000,1.390000,2.390000,3.590000"


def test_a_key_given_twice_is_refused():
    with pytest.raises(UserError, match="twice"):
        E.parse(["g=48", "g=60"])


def test_the_loops_arguments_take_the_users_options():
    plain = codec_args(SegmentCodec(), 23.5)
    mine = codec_args(SegmentCodec(params=E.parse(["g=48", "maxrate=6M", "x264-params=aq-mode=3"])), 23.5)
    assert mine[mine.index("-x264-params") + 1] == "stitchable=1:aq-mode=3"
    assert mine[mine.index("-g") + 1] == "48" and mine[mine.index("-maxrate") + 1] == "6M"
    assert mine[mine.index("-crf") + 1] == plain[plain.index("-crf") + 1] == "23.5"
    # SVT-AV1 sets its own keyframe interval: the user's replaces it, the rest of its options stay
    av1 = codec_args(SegmentCodec("av1", params=E.parse(["g=120", "svtav1-params=tune=0"])), 30)
    assert av1.count("-g") == 1 and av1[av1.index("-g") + 1] == "120"
    assert av1[av1.index("-svtav1-params") + 1].endswith(":enable-qm=1:tune=0")


def test_one_pass_keywords_keep_the_zones():
    kw = E.merged_kwargs({"c:v": "libx264", "x264-params": "zones=0,9,crf=20"},
                         E.parse(["x264-params=aq-mode=3", "level=4.1"]))
    assert kw == {"c:v": "libx264", "x264-params": "zones=0,9,crf=20:aq-mode=3", "level": "4.1"}


def test_another_encoders_parameter_string_is_refused():
    E.check_for(E.parse(["x265-params=aq-mode=3"]), "libx265")
    with pytest.raises(UserError, match="its parameter string is -x265-params"):
        E.check_for(E.parse(["x264-params=aq-mode=3"]), "libx265")


def _x264_settings(path) -> str:
    """x264's settings string, which it writes into the stream."""
    data = path.read_bytes()
    i = data.find(b"x264 - core")
    assert i >= 0
    return data[i:i + 2000].decode("latin-1")


@pytest.mark.parametrize("effort", ["balanced", "fast"])
def test_the_users_options_reach_the_output(cut_clip, tmp_path, effort):
    out = tmp_path / "o.mp4"
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", cut_clip, out, "--effort", effort, "--json", "-q",
                        "--enc", "g=30", "--enc", "maxrate=400k", "--enc", "bufsize=800k",
                        "--enc", "x264-params=aq-mode=3"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    s = _x264_settings(out)
    assert re.search(r"keyint=30\b", s) and "vbv_maxrate=400" in s and "vbv_bufsize=800" in s and " aq=3" in s
    assert ("stitchable=1" in s) == (effort == "balanced")  # the loop's segments keep theirs
    assert any("VBV" in n for n in __import__("json").loads(r.stdout)["notes"]) == (effort == "balanced")


def _keyframes(path) -> list[int]:
    import av
    with av.open(str(path)) as c:
        packets = sorted((p for p in c.demux(video=0) if p.pts is not None), key=lambda p: p.pts)
        return [i for i, p in enumerate(packets) if p.is_keyframe]


@pytest.mark.parametrize("effort", ["balanced", "fast"])
def test_a_key_frame_interval_keeps_its_grid_across_shots(tmp_path, effort):
    """HLS/DASH renditions align on key frames every g frames from the first; a shot's own key frame (a segment's
    first frame, or a forced one in one pass) restarted the encoder's count and moved the grid at every cut."""
    src = make_cut_clip(tmp_path / "cuts.mp4", size="320x240", seconds=(1, 1, 1), audio=False)  # cuts: 25, 50
    out = tmp_path / "o.mp4"
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", src, out, "--effort", effort, "--json", "-q",
                        "--enc", "g=30", "--enc", "sc_threshold=0"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = __import__("json").loads(r.stdout)
    starts = {s["start_frame"] for s in d["shots"]}
    assert starts - {0}, "the clip should have cuts"
    keys = _keyframes(out)
    assert set(range(0, d["frames"], 30)) <= set(keys), keys
    assert set(keys) == set(range(0, d["frames"], 30)) | starts  # nothing else: no scene cuts here
    assert any("key frame interval 30" in n for n in d["notes"])


def test_cli_refuses_in_one_line(cut_clip, tmp_path):
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", cut_clip, tmp_path / "o.mp4", "--enc", "crf=18"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_the_video_tag_goes_to_the_output_not_the_segments():
    mine = E.parse(["tag:v=hev1", "g=48"])
    assert E.for_encoder(mine) == (("g", "48"),)
    assert E.video_tag(mine, "libx265", ".mp4") == "hev1"
    assert E.video_tag((), "libx265", ".MOV") == "hvc1"  # Apple's players take HEVC in MP4 only as hvc1
    assert E.video_tag((), "libx265", ".mkv") is None and E.video_tag((), "libx264", ".mp4") is None
    with pytest.raises(UserError, match="twice"):
        E.parse(["tag:v=hvc1", "vtag=hev1"])
    from jndenc.media.join import mux_args
    args = mux_args("v.mp4", "in.mkv", "o.mp4", ["a"], {}, None, E.output_options((), "libx265", ".mp4"))
    assert args[args.index("-tag:v") + 1] == "hvc1" and "-tag:v" not in mux_args("v.mp4", "in.mkv", "o.mp4", [], {})
    # the user's movflags replace jndenc's +faststart (a fragmented MP4 has no index to move)
    frag = E.output_options(E.parse(["movflags=+frag_keyframe+empty_moov"]), "libx264", ".mp4")
    args = mux_args("v.mp4", "in.mkv", "o.mp4", [], {}, None, frag)
    assert args.count("-movflags") == 1 and args[args.index("-movflags") + 1] == "+frag_keyframe+empty_moov"
    assert E.for_encoder(E.parse(["movflags=+frag_keyframe", "level=4.1"])) == (("level", "4.1"),)


@pytest.mark.parametrize("effort", ["balanced", "fast"])
def test_hevc_in_mp4_is_tagged_for_every_player(tmp_path, effort):
    """HEVC in MP4 plays on Apple's players only as hvc1 (FFmpeg writes hev1); a user's --enc tag:v and movflags
    were lost (on the loop's path given to the Matroska segments instead of the output, on both paths replaced
    by jndenc's +faststart)."""
    src = make_cut_clip(tmp_path / "cuts.mp4", size="320x240", seconds=(1, 1, 1), audio=False)
    for extra, want in (([], "hvc1"), (["--enc", "tag:v=hev1", "--enc", "movflags=+frag_keyframe+empty_moov"], "hev1")):
        out = tmp_path / "o.mp4"
        r = subprocess.run([sys.executable, "-m", "jndenc", "encode", src, out, "--codec", "x265", "--effort", effort,
                            "-q", "-y", *extra], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        import av
        with av.open(str(out)) as c:
            assert c.streams.video[0].codec_context.codec_tag == want
            assert sum(1 for _ in c.decode(video=0)) == 75
        assert (b"moof" in out.read_bytes()) == bool(extra)  # the user's muxer flags reached the output
