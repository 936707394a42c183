"""What a user auditing jndenc before a pipeline met: real FFmpeg on tiny generated clips, the CLI as run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from conftest import ffmpeg


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jndenc", *map(str, args)], capture_output=True, text=True)


def _frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def test_output_folder_with_quote_colon_comma_brackets(tmp_path):
    # the measured loop's VMAF log sits beside the output, inside FFmpeg's filter graph: such a folder name broke it
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-c:v", "libx264", "-preset",
           "ultrafast", "-crf", "10", str(src))
    folder = tmp_path / "it's: a,b [1];c"
    folder.mkdir()
    dst = folder / "o'u:t,[1].mp4"
    r = _cli("encode", src, dst, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert all(s["vmaf"]["mean"] > 0 for s in d["shots"])
    assert _frames(dst) == 25
    assert sorted(p.name for p in folder.iterdir()) == [dst.name]  # no segment folder left behind


def test_odd_frame_size_on_x264_is_one_line_before_any_work(tmp_path):
    src = tmp_path / "odd.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-vf", "scale=65:49", "-c:v", "ffv1",
           "-pix_fmt", "yuv420p", str(src))
    for extra in ((), ("--effort", "fast"), ("--codec", "x265")):
        dst = tmp_path / "o.mp4"
        r = _cli("encode", src, dst, *extra)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "65x49" in lines[0] and "even" in lines[0], r.stderr
        assert "Traceback" not in r.stderr and "log:" not in r.stderr
        assert not dst.exists()
    # an encoder that takes odd sizes still encodes them, at the input's size
    dst = tmp_path / "o.webm"
    r = _cli("encode", src, dst, "--codec", "vp9")
    assert r.returncode == 0, r.stderr
    with av.open(str(dst)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == (65, 49)
    assert _frames(dst) == 25


def test_side_file_in_missing_folder_is_refused_before_the_encode(tmp_path):
    # found only after the encode, it was an "internal error" (exit 1) with the output already written
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src))
    missing = tmp_path / "nowhere"
    for extra in (("--report", missing / "page.html"), ("--learn", missing / "l.json"),
                  ("--mode", "predict", "--plan-out", missing / "plan.json")):
        dst = tmp_path / "o.mp4"
        r = _cli("encode", src, dst, "-q", *extra)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip() == f"jndenc: error: {extra[-2]} {extra[-1]}: folder {missing} does not exist"
        assert not dst.exists()


def test_enc_option_ffmpeg_refuses_is_a_user_error(tmp_path):
    # an unknown key or a bad value in --enc is the user's mistake: it was "FFmpeg failed" with exit 1
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src))
    for enc, named in (("foo=bar", "-foo"), ("maxrate=abc", "-maxrate abc")):
        dst = tmp_path / "o.mp4"
        r = _cli("encode", src, dst, "-q", "--enc", enc)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and f"refused the option {named} " in lines[0], r.stderr
        assert not dst.exists()


def test_matroska_and_webm_outputs_are_the_same_bytes_each_run(tmp_path):
    # Matroska's muxer drew random segment and track UIDs and stamped the date: two runs of one encode (another
    # --jobs, a resumed run) differed in those bytes, and a pipeline that checksums its outputs saw a change
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=1", "-f", "lavfi", "-i", "sine=d=1",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-metadata", "title=kept", "-shortest", str(src))
    for name, extra in (("a.mkv", ()), ("b.webm", ("--codec", "vp9")), ("c.mkv", ("--crf", "30"))):
        first, second = tmp_path / f"1{name}", tmp_path / f"2{name}"
        for out, jobs in ((first, "1"), (second, "2")):
            r = _cli("encode", src, out, "-q", "--jobs", jobs, *extra)
            assert r.returncode == 0, r.stderr
        assert first.read_bytes() == second.read_bytes(), name
        with av.open(str(first)) as c:
            assert c.metadata.get("title") == "kept" and len(c.streams.audio) == 1


def test_a_matroska_file_cut_short_is_said(tmp_path):
    # cut at a byte boundary (a partial download), an MKV decodes without an error and states no frame count: its
    # encode came out 1.8 s of 3 s without a word, where an MP4 cut the same way is noted
    full, cut = tmp_path / "full.mkv", tmp_path / "cut.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=3", "-f", "lavfi", "-i", "sine=d=3",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(full))
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    for src, short in ((full, False), (cut, True)):
        r = _cli("encode", src, tmp_path / f"o_{src.stem}.mp4", "--crf", "30", "--preset", "ultrafast", "--json")
        assert r.returncode == 0, r.stderr
        said = [n for n in json.loads(r.stdout)["notes"] if "may be cut short" in n]
        assert bool(said) == short, said


def test_a_parameter_string_key_the_encoder_would_skip_is_refused_before_any_work(tmp_path):
    # x264, x265 and SVT-AV1 log a key they cannot read and encode on: a misspelt option changed nothing unsaid
    from jndenc.media.enc_check import skipped_keys

    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src))
    for codec, enc, key in (("x264", "x264-params=aq-strenght=1.2", "aq-strenght"),
                            ("x265", "x265-params=nosuchkey=1", "nosuchkey"),
                            ("av1", "svtav1-params=nosuch=1", "nosuch")):
        dst = tmp_path / "o.mp4"
        r = _cli("encode", src, dst, "-q", "--codec", codec, "--enc", enc)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and f"cannot read {key} " in r.stderr, r.stderr
        assert not dst.exists()
    r = _cli("encode", src, tmp_path / "ok.mp4", "-q", "--effort", "fast", "--enc", "x264-params=aq-strength=0.9")
    assert r.returncode == 0, r.stderr
    assert skipped_keys("[libx264 @ 0x1] Error parsing option 'a = 1'.\nx265 [error]: Unknown option: b.\n"
                        "[libsvtav1 @ 0x2] Error parsing option c: 1.") == ["a", "b", "c"]


def test_a_rate_cap_the_encoder_would_drop_is_refused_before_any_work(tmp_path):
    # x264 and x265 drop a maxrate given without a bufsize (and the reverse) with a warning and encode uncapped:
    # the output was byte-identical to one without the cap, and the notes spoke of the cap
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src))
    for codec, enc in (("x264", "maxrate=200k"), ("x265", "maxrate=200k"), ("x264", "bufsize=400k")):
        dst = tmp_path / "o.mp4"
        r = _cli("encode", src, dst, "-q", "--codec", codec, "--enc", enc)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and "would encode uncapped" in r.stderr and "bufsize" in r.stderr, r.stderr
        assert not dst.exists()
    r = _cli("encode", src, tmp_path / "ok.mp4", "-q", "--effort", "fast", "--enc", "maxrate=200k",
             "--enc", "bufsize=400k")
    assert r.returncode == 0, r.stderr
    r = _cli("encode", src, tmp_path / "s.mp4", "-q", "--enc", "s=32x32")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "frame size" in r.stderr, r.stderr
    # libvpx cannot cap a constant-quality encode (no bitrate to cap): the user's options, exit 2 and what libvpx
    # said, not exit 1 (an internal failure)
    r = _cli("encode", src, tmp_path / "v.mkv", "-q", "--codec", "vp9", "--enc", "maxrate=200k", "--enc", "bufsize=400k")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "libvpx-vp9 cannot encode with these options (Rate control parameters set without a bitrate)" in r.stderr


def test_an_enc_option_the_input_format_refuses_stops_before_the_analysis(tmp_path):
    # x264's high profile takes 8-bit frames only: the 8-bit trial passed it, and the refusal came from the first
    # encode, after the analysis; the trial in the input's own format refuses it first
    src = tmp_path / "in10.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=0.4", "-pix_fmt", "yuv420p10le",
           "-c:v", "libx264", "-preset", "ultrafast", str(src))
    dst = tmp_path / "o.mp4"
    r = _cli("encode", src, dst, "--json", "--enc", "profile=high")
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.count("\n") == 1 and "-profile high while trying the --enc options" in r.stderr, r.stderr
    assert not dst.exists()
    r = _cli("encode", src, dst, "-q", "--effort", "fast", "--enc", "profile=high10")
    assert r.returncode == 0, r.stderr


def test_a_trial_whose_failure_is_handled_leaves_no_log(tmp_path, monkeypatch):
    import tempfile

    import pytest

    from jndenc.errors import UserError
    from jndenc.media.runner import run_ffmpeg

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    args = ["-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", "-c:v", "libx264", "-nosuch", "1",
            "-f", "null", "-"]
    with pytest.raises(UserError) as e:
        run_ffmpeg(args, what="a trial", keep_log=False)
    assert "log:" not in str(e.value) and list(tmp_path.iterdir()) == []
    with pytest.raises(UserError) as e:
        run_ffmpeg(args, what="a real encode")
    assert "log:" in str(e.value) and len(list(tmp_path.glob("jndenc-ffmpeg-*.log"))) == 1


def test_the_enc_trial_runs_once_for_an_8_bit_input(tmp_path):
    # the trial before the probe and the one in the input's format after it are the same trial on 8-bit frames
    from jndenc.encode import encode
    from jndenc.media import enc_check

    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src))
    enc_check._passed.cache_clear()
    encode(src, tmp_path / "o.mp4", effort="fast", enc=["x264-params=aq-strength=0.9"])
    assert enc_check._passed.cache_info().misses == 1 and enc_check._passed.cache_info().hits >= 1


def test_a_folder_that_takes_no_file_is_refused_before_any_work_whatever_its_permission_bits(tmp_path):
    # /proc takes no new file even for root, whom its permission bits let write: the run failed after the analysis
    # as an internal error (exit 1), and with --report after the output was written
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src))
    for extra in ((), ("--effort", "fast")):
        r = _cli("encode", src, "/proc/jndenc-out.mp4", "-q", *extra)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not writable" in r.stderr, r.stderr
    dst = tmp_path / "o.mp4"
    for option in ("--report", "--plan-out"):
        r = _cli("encode", src, dst, "-q", "--json", option, "/proc/jndenc-side.json")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not writable" in r.stderr, r.stderr
        assert not dst.exists() and r.stdout == ""


def test_a_trial_modes_option_where_no_trial_runs_is_refused_and_a_loops_margin_is_said(tmp_path):
    # --thresholds, --crf-step and the like were accepted by every path and read by the trial modes only; --margin
    # moved balanced's first attempts only, and the result did not say so
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src))
    dst = tmp_path / "o.mp4"
    for args, said in ((("--thresholds", "90,80,70"), "--thresholds"), (("--crf-step", "3"), "--crf-step"),
                       (("--effort", "fast", "--pool", "p5"), "--pool"),
                       (("--mode", "search", "--max-trials", "2"), "guided mode's")):
        r = _cli("encode", src, dst, "-q", *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and said in r.stderr, r.stderr
        assert not dst.exists()
    r = _cli("encode", src, dst, "--json", "--margin", "2", "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert any("--margin/--confidence moved only" in n for n in json.loads(r.stdout)["notes"])


def test_cover_art_an_image_pattern_and_foreign_weights_get_messages_that_say_what_they_are(tmp_path):
    mp3 = tmp_path / "song.mp3"
    art = tmp_path / "art.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(art))
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-i", str(art), "-map", "0:a", "-map", "1:v", "-c:v", "png",
           "-disposition:v", "attached_pic", str(mp3))
    r = _cli("encode", mp3, tmp_path / "o.mp4")
    assert r.returncode == 2 and "only cover art" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = _cli("encode", tmp_path / "img%03d.png", tmp_path / "o.mp4")
    assert r.returncode == 2 and "image sequences are not read" in r.stderr, r.stderr
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", str(src))
    r = _cli("encode", src, tmp_path / "o.mp4", "--mode", "predict", "--weights", src)
    assert r.returncode == 2 and "not weights jndenc wrote" in r.stderr and "pass the architecture" not in r.stderr


def test_two_targets_are_refused():
    import jndenc

    with pytest.raises(jndenc.UserError, match="give one"):
        jndenc.EncodeOptions.from_kwargs(target_jnd=2, target_vmaf=95)
    assert jndenc.EncodeOptions.from_kwargs(target_vmaf=95).aim.target_vmaf == 95  # alone, either is fine


def test_api_and_predict_mistakes_are_said_where_they_are_made(tmp_path):
    import os

    import jndenc

    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", str(src))
    for call in (jndenc.plan, jndenc.predict):  # named `analyse_and_plan`, with no hint, before
        with pytest.raises(TypeError, match="did you mean 'confidence'"):
            call(src, confidance=0.8)
    with pytest.raises(TypeError, match="list of KEY=VALUE"):
        jndenc.EncodeOptions.from_kwargs(enc={"g": 48})  # a dict was read as its keys
    for kw, said in ((dict(preset="medum"), "unknown preset"), (dict(target_jnd=5), "1, 2 or 3")):
        with pytest.raises(jndenc.UserError, match=said):
            jndenc.EncodeOptions.from_kwargs(**kw)
    r = _cli("predict", src, "--codec", "x265", "--format", "x264-zones")
    assert r.returncode == 2 and "x265-zones" in r.stderr, r.stderr
    env = {**os.environ, "JNDENC_WEIGHTS": str(tmp_path / "nope.keras")}
    r = subprocess.run([sys.executable, "-m", "jndenc", "predict", str(src)], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "JNDENC_WEIGHTS names" in r.stderr, r.stderr


def test_a_dry_run_says_which_manifest_rows_no_file_could_run(tmp_path):
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", str(src))
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"input,output,preset,crf\n{src},a.mp4,medum,\n{src},b.mp4,,30\n{src},c.mp4,,\n")
    r = _cli("batch", manifest, tmp_path / "out", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    items = {d["key"]: d for d in map(json.loads, r.stdout.splitlines()) if d.get("type") == "item"}
    assert items["a.mp4"]["status"] == "would-fail" and "unknown preset" in items["a.mp4"]["reason"]
    assert items["b.mp4"]["status"] == items["c.mp4"]["status"] == "would-encode"  # a row's CRF replaces the effort
    assert not (tmp_path / "out").exists()


def test_a_complete_matroska_file_that_starts_late_is_not_called_cut_short(tmp_path):
    # FFmpeg's Matroska muxer states where the track ends: a complete 3 s file starting at 10 s states 13 s, which
    # read as 10 s missing; the same file cut at a byte boundary is still said
    from jndenc.media.probe import probe

    full, cut = tmp_path / "late.mkv", tmp_path / "late_cut.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=3", "-c:v", "libx264", "-preset",
           "ultrafast", "-output_ts_offset", "10", str(full))
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    for src, short in ((full, False), (cut, True)):
        said = [n for n in probe(src).notes if "may be cut short" in n]
        assert bool(said) == short, said


def test_a_run_without_overwrite_never_replaces_an_output_another_run_wrote_meanwhile(tmp_path):
    # two encodes to one name without -y both passed the check at the start, and the later rename replaced the
    # earlier run's output while both reported success
    from jndenc.errors import UserError
    from jndenc.output import publish

    dst = tmp_path / "out.mp4"
    first, second = tmp_path / ".a.tmp.mp4", tmp_path / ".b.tmp.mp4"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    publish(first, dst, overwrite=False)
    assert dst.read_bytes() == b"first" and not first.exists()
    with pytest.raises(UserError, match="already exists"):
        publish(second, dst, overwrite=False)
    assert dst.read_bytes() == b"first"
    publish(second, dst, overwrite=True)  # -y: the last writer wins
    assert dst.read_bytes() == b"second" and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_batch_folder_that_cannot_be_made_and_a_deleted_working_folder_are_user_errors(tmp_path):
    # both read "internal error" (a PermissionError from the first mkdir, a FileNotFoundError from os.getcwd in the
    # worker processes' start) with exit 1; a batch left its journal behind too
    src = tmp_path / "in"
    src.mkdir()
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", "-preset",
           "ultrafast", str(src / "a.mp4"))
    (tmp_path / "file").write_text("x")
    r = _cli("batch", src, tmp_path / "file" / "out", "-q", "--crf", "30")
    assert r.returncode == 2 and r.stderr.startswith("jndenc: error: batch folder ") and "internal" not in r.stderr
    gone = tmp_path / "gone"
    gone.mkdir()
    r = subprocess.run(["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$0" "$@"', sys.executable, "-m",
                        "jndenc", "batch", str(src), str(tmp_path / "out"), "-q", "--crf", "30"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "the current folder no longer exists" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_a_broken_ffmpeg_first_on_path_is_said_to_be_broken(tmp_path):
    # a binary that does not run read as one lacking libx264, and doctor listed every part MISSING
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ffmpeg"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "JNDENC_FFMPEG"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25:duration=0.4", "-c:v", "libx264", str(src))
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src), str(tmp_path / "o.mp4"), "-q"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and f"{fake} does not run (-version exited 1: broken)" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "jndenc", "doctor"], capture_output=True, text=True, env=env)
    assert "does not run" in r.stdout and r.returncode == 1
