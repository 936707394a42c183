"""Bad-input matrix, faults and interrupts (issue 8): clear errors, nothing lost, input never touched.

Every case runs the real CLI in a subprocess on a file generated here and
checks the contract: exit code, exactly one stderr line naming the file (no
traceback), no output unless the run succeeded, input byte-for-byte unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from conftest import ffmpeg, interruptible
from jndenc.media.decode import count_decoded_frames
from jndenc.media.probe import is_cover


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "jndenc", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def digest(p: Path) -> str | None:
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def lav(path: Path, src: str, *extra: str) -> Path:
    ffmpeg("-f", "lavfi", "-i", src, *extra, str(path))
    return path


def _truncated(d: Path, faststart: bool) -> Path:
    """A valid MP4 cut at half its size; with faststart the index survives, without it it is lost."""
    extra = ["-movflags", "+faststart"] if faststart else []
    good = lav(d / "g.mp4", "testsrc2=size=160x120:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
               *extra)
    data = good.read_bytes()
    good.unlink()
    p = d / ("trunc_fs.mp4" if faststart else "trunc.mp4")
    p.write_bytes(data[: len(data) // 2])
    return p


def _no_moov(d: Path) -> Path:
    good = lav(d / "g.mp4", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264", "-preset", "ultrafast")
    data = good.read_bytes()
    good.unlink()
    i = data.rfind(b"moov") - 4  # the atom's size field; the moov atom runs to the end
    p = d / "nomoov.mp4"
    p.write_bytes(data[:i])
    return p


# name -> (maker, expected exit code, text the one error line must contain)
FAILING = {
    "missing": (lambda d: d / "missing.mp4", 2, "no such file"),
    "directory": (lambda d: (d / "dir.mp4").mkdir() or d / "dir.mp4", 2, "directory"),
    "zero_bytes": (lambda d: (d / "zero.mp4").write_bytes(b"") and d / "zero.mp4" or d / "zero.mp4", 2, "empty"),
    "random_bytes": (lambda d: (d / "rand.mp4").write_bytes(random.Random(1).randbytes(50_000)) and d / "rand.mp4",
                     2, "not a video"),
    "truncated_moov_at_end": (lambda d: _truncated(d, faststart=False), 2, "not a video"),
    "moov_missing": (_no_moov, 2, "not a video"),
    "audio_only": (lambda d: lav(d / "a.m4a", "sine=duration=1", "-c:a", "aac"), 2, "no video stream"),
    "png_still": (lambda d: lav(d / "s.png", "testsrc2=size=64x48", "-frames:v", "1"), 2, "still image"),
    "jpeg_still": (lambda d: lav(d / "s.jpg", "testsrc2=size=64x48", "-frames:v", "1"), 2, "still image"),
}

WORKING = {
    "truncated_faststart": (lambda d: _truncated(d, faststart=True), None),
    "odd_dimensions": (lambda d: lav(d / "odd.mkv", "testsrc2=size=161x119:rate=25:duration=1", "-c:v", "ffv1",
                                      "-pix_fmt", "yuv420p"), 25),
    "tiny_16x16": (lambda d: lav(d / "tiny.mp4", "testsrc2=size=16x16:rate=25:duration=1", "-c:v", "libx264"), 25),
    "10bit_420": (lambda d: lav(d / "p10.mp4", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264",
                                 "-pix_fmt", "yuv420p10le"), 25),
    "422": (lambda d: lav(d / "p422.mp4", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264",
                           "-pix_fmt", "yuv422p"), 25),
    "444": (lambda d: lav(d / "p444.mp4", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264",
                           "-pix_fmt", "yuv444p"), 25),
    "vfr": (lambda d: lav(d / "vfr.mp4", "testsrc2=size=160x120:rate=25:duration=3,setpts='if(lt(N,25),N/25,(N-25)/10+1)/TB'",
                          "-fps_mode", "vfr", "-c:v", "libx264"), 75),
    "rotated": (lambda d: _rotated(d), 25),
    "interlaced": (lambda d: lav(d / "i.mp4", "testsrc2=size=160x120:rate=25:duration=1", "-vf", "setfield=tff",
                                  "-flags", "+ilme+ildct", "-c:v", "libx264"), 25),
    "one_frame": (lambda d: lav(d / "one.mp4", "testsrc2=size=160x120:rate=25", "-frames:v", "1", "-c:v", "libx264"), 1),
    "three_frames": (lambda d: lav(d / "three.mp4", "testsrc2=size=160x120:rate=25", "-frames:v", "3", "-c:v", "libx264"), 3),
    "two_video_streams": (lambda d: _two_streams(d), 25),
    "cover_art": (lambda d: _cover_art(d), 25),
    "non_ascii_space_path": (lambda d: lav(d / "ünï cødé ☃ file.mp4", "testsrc2=size=160x120:rate=25:duration=1",
                                            "-c:v", "libx264"), 25),
}


def _rotated(d: Path) -> Path:
    base = lav(d / "r0.mp4", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264")
    out = d / "rot.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(base), "-c", "copy", str(out))
    base.unlink()
    return out


def _cover_art(d: Path) -> Path:
    """Matroska with a cover picture attached, which demuxers show as a second video stream (attached_pic)."""
    cover = d / "cover.png"
    ffmpeg("-f", "lavfi", "-i", "color=red:size=64x64", "-frames:v", "1", str(cover))
    out = d / "covered.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264", "-attach", str(cover),
           "-metadata:s:t", "mimetype=image/png", "-metadata:s:t", "filename=cover.png", str(out))
    cover.unlink()
    return out


def _two_streams(d: Path) -> Path:
    out = d / "two.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-f", "lavfi", "-i",
           "mandelbrot=size=64x48:rate=25", "-t", "1", "-map", "0", "-map", "1", "-c:v", "libx264", str(out))
    return out


def assert_one_line_error(r, code: int, needle: str, name: str):
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert needle.lower() in lines[0].lower(), lines[0]
    assert name in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(FAILING))
@pytest.mark.parametrize("command", ["encode", "predict"])
def test_failing_inputs(case, command, tmp_path):
    make, code, needle = FAILING[case]
    src = make(tmp_path)
    before = digest(src)
    out = tmp_path / "out" / "o.mp4"
    out.parent.mkdir()
    args = ["encode", src, out, "--crf", "23"] if command == "encode" else ["predict", src, "--json"]
    r = run(*args)
    assert_one_line_error(r, code, needle, src.name)
    assert not out.exists() and not list(out.parent.iterdir())
    assert digest(src) == before


@pytest.mark.parametrize("case", sorted(WORKING))
def test_unusual_but_valid_inputs_encode(case, tmp_path):
    make, frames = WORKING[case]
    src = make(tmp_path)
    before = digest(src)
    out = tmp_path / "out dir" / "ö.mp4"
    out.parent.mkdir()
    r = run("encode", src, out, "--crf", "28", "--preset", "ultrafast", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    n = count_decoded_frames(out)
    assert n == d["frames"]
    if frames is not None:
        assert n == frames
    else:  # truncated: what decodes is encoded, and the result says so or matches the input's decodable frames
        assert n == count_decoded_frames(src)
    # cover art is no second video to choose between; PyAV's disposition reads as a number, not a name
    assert any("video streams" in note for note in d["notes"]) == (case == "two_video_streams")
    assert not any("cover art" in note for note in d["notes"])  # carried: an MP4 keeps it as its cover
    # woven fields are coded as frames: said once, and only for an interlaced source
    assert any("interlaced input" in note for note in d["notes"]) == (case == "interlaced")
    with av.open(str(out)) as c:  # 4:2:0 at the source's depth, as measured, whatever the master's subsampling
        assert c.streams.video[0].codec_context.pix_fmt == ("yuv420p10le" if case == "10bit_420" else "yuv420p")
        assert [is_cover(s) for s in c.streams.video] == [False] + [True] * (case == "cover_art")
    assert digest(src) == before
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp files left


@pytest.mark.parametrize("case", sorted(WORKING))
def test_unusual_but_valid_inputs_predict(case, tmp_path):
    make, frames = WORKING[case]
    src = make(tmp_path)
    before = digest(src)
    r = run("predict", src, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["frames"] == (frames if frames is not None else count_decoded_frames(src))
    assert d["shots"][0]["start_frame"] == 0 and d["shots"][-1]["end_frame"] == d["frames"]
    assert all(0 <= j <= 51 for s in d["shots"] for j in s["jnd"])
    assert digest(src) == before


def test_output_paths(cut_clip, tmp_path):
    before = digest(cut_clip)
    link = tmp_path / "link.mp4"
    os.symlink(cut_clip, link)
    hard = tmp_path / "hard.mp4"
    os.link(cut_clip, hard)
    for dst in (cut_clip, link, hard):
        assert_one_line_error(run("encode", cut_clip, dst, "--crf", "23", "-y"), 2, "is the input", dst.name)
    assert_one_line_error(run("encode", cut_clip, tmp_path / "nope" / "o.mp4", "--crf", "23"), 2, "does not exist", "o.mp4")
    existing = tmp_path / "exists.mp4"
    existing.write_bytes(b"precious")
    assert_one_line_error(run("encode", cut_clip, existing, "--crf", "23"), 2, "already exists", "exists.mp4")
    assert existing.read_bytes() == b"precious"
    assert digest(cut_clip) == before


def _mount_tmpfs(path: Path, opts: str) -> bool:
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True).returncode == 0


def test_read_only_output_folder(cut_clip, tmp_path):
    ro = tmp_path / "ro"
    if not _mount_tmpfs(ro, "ro,size=1m"):
        pytest.skip("cannot mount a read-only tmpfs here (needs root); the check is os.access on the folder")
    try:
        assert_one_line_error(run("encode", cut_clip, ro / "o.mp4", "--crf", "23"), 2, "not writable", "o.mp4")
    finally:
        subprocess.run(["umount", str(ro)])


def test_disk_full_removes_partial_output(tmp_path):
    full = tmp_path / "full"
    if not _mount_tmpfs(full, "size=64k"):
        pytest.skip("cannot mount a small tmpfs here (needs root) to simulate a full disk")
    try:
        src = lav(tmp_path / "big.mp4", "testsrc2=size=320x240:rate=25:duration=3", "-c:v", "libx264", "-crf", "5")
        r = run("encode", src, full / "o.mp4", "--crf", "5", "--preset", "ultrafast")
        assert_one_line_error(r, 2, "no space left", "")
        assert list(full.iterdir()) == []
    finally:
        subprocess.run(["umount", str(full)])


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["zones"][0].update(crf=-1), "CRF -1"),
    (lambda d: d["zones"][1].update(start_frame=d["zones"][1]["start_frame"] - 5), "overlap"),
    (lambda d: d.update(frames=d["frames"] + 40) or d["shots"][-1].update(end_frame=d["frames"]) or
     d["zones"][-1].update(end_frame=d["frames"]), "frames"),
])
def test_edited_plan_invalid(cut_clip, tmp_path, edit, needle):
    plan = tmp_path / "p.json"
    assert run("encode", cut_clip, tmp_path / "a.mp4", "--crf", "30", "--preset", "ultrafast", "--plan-out", plan,
               "-q").returncode == 0
    d = json.loads(plan.read_text())
    edit(d)
    plan.write_text(json.dumps(d))
    r = run("encode", cut_clip, tmp_path / "b.mp4", "--plan", plan)
    assert_one_line_error(r, 2, needle, "")
    assert not (tmp_path / "b.mp4").exists()


def test_corrupt_weights_file(cut_clip, tmp_path):
    w = tmp_path / "w.keras"
    w.write_bytes(b"not a model at all")
    for args in (["predict", cut_clip, "--weights", w], ["encode", cut_clip, tmp_path / "o.mp4", "--weights", w]):
        r = run(*args)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("phase", ["analysis", "encode"])
def test_interrupts_leave_nothing(tmp_path, sig, code, phase):
    src = lav(tmp_path / "long.mp4", "testsrc2=size=640x360:rate=25:duration=40", "-c:v", "libx264", "-preset",
              "ultrafast")
    before = digest(src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = dict(os.environ, TMPDIR=str(out_dir))  # search temp dirs land here too, so we can see them
    args = ["encode", src, out_dir / "o.mp4", "-q"]
    args += ["--mode", "search", "--preset", "ultrafast"] if phase == "analysis" else ["--crf", "20", "--preset", "veryslow"]
    with interruptible([sys.executable, "-m", "jndenc", *map(str, args)], stderr=subprocess.PIPE, text=True,
                       env=env) as proc:
        deadline = time.time() + 60
        while time.time() < deadline and not list(out_dir.iterdir()):
            time.sleep(0.05)
        time.sleep(1.0)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    time.sleep(0.2)
    assert list(out_dir.iterdir()) == []
    assert digest(src) == before


def test_fuzzed_mp4s_keep_the_contract(tmp_path):
    """Seeded byte mutations of a valid MP4: every run either succeeds with a valid output or fails cleanly."""
    good = lav(tmp_path / "good.mp4", "testsrc2=size=96x64:rate=25:duration=1", "-c:v", "libx264", "-preset",
               "ultrafast", "-movflags", "+faststart")
    data = good.read_bytes()
    rng = random.Random(1234)
    deadline = time.time() + 60
    for i in range(12):
        if time.time() > deadline:
            break
        buf = bytearray(data)
        for _ in range(rng.choice([1, 4, 32])):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        src = tmp_path / f"fuzz{i}.mp4"
        src.write_bytes(bytes(buf))
        before = digest(src)
        out = tmp_path / f"out{i}.mp4"
        r = run("encode", src, out, "--crf", "30", "--preset", "ultrafast")
        assert r.returncode in (0, 2), r.stderr
        assert "Traceback" not in r.stderr
        if r.returncode == 0:
            assert count_decoded_frames(out) > 0
        else:
            assert not out.exists() and len(r.stderr.strip().splitlines()) == 1
        assert digest(src) == before
        assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def _peak_rss_of_analysis(src: Path) -> int:
    code = ("import resource, sys; from jndenc.analyze import analyze; a = analyze(sys.argv[1]); "
            "print(a.frames, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[1])


def test_two_minute_single_shot_memory_is_bounded(tmp_path):
    short = lav(tmp_path / "s.mp4", "testsrc2=size=320x240:rate=25:duration=10", "-c:v", "libx264", "-preset",
                "ultrafast", "-g", "100000")
    long = lav(tmp_path / "l.mp4", "testsrc2=size=320x240:rate=25:duration=120", "-c:v", "libx264", "-preset",
               "ultrafast", "-g", "100000")  # one GOP, one shot, 3000 frames
    rss_short, rss_long = _peak_rss_of_analysis(short), _peak_rss_of_analysis(long)
    assert rss_long < rss_short * 1.25 + 20_000, (rss_short, rss_long)  # KiB


def test_batch_records_every_bad_input_and_keeps_going(tmp_path):
    """The failing matrix through `jndenc batch`: each bad file is failed with its reason, the good one is done."""
    src = tmp_path / "in"
    src.mkdir()
    made = {}
    for case in ("zero_bytes", "random_bytes", "truncated_moov_at_end", "moov_missing", "audio_only"):
        sub = tmp_path / case
        sub.mkdir()
        p = FAILING[case][0](sub)
        dst = src / f"{case}{p.suffix if p.suffix in ('.mp4', '.m4a') else '.mp4'}"
        p.rename(dst)
        made[dst.name] = FAILING[case][2]
    lav(src / "good.mp4", "testsrc2=size=96x64:rate=25:duration=1", "-c:v", "libx264", "-preset", "ultrafast")
    before = {p.name: digest(p) for p in src.iterdir()}
    out = tmp_path / "out"
    r = run("batch", src, out, "--crf", "30", "--preset", "ultrafast", "--pattern", "*.*", "--json")
    assert r.returncode == 3, r.stderr
    items = {Path(d["input"]).name: d for d in map(json.loads, r.stdout.splitlines()) if d.get("type") == "item"}
    assert items["good.mp4"]["status"] == "done" and (out / "good.mp4").is_file()
    for name, needle in made.items():
        assert items[name]["status"] == "failed", items[name]
        assert needle in (items[name]["reason"] or "").lower(), items[name]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["good.mp4"]
    assert {p.name: digest(p) for p in src.iterdir()} == before


@pytest.mark.parametrize("effort", ["fast", "balanced"])
def test_file_names_that_are_not_utf8(tmp_path, effort):
    """A file name with stray bytes (an old Latin-1 archive's) is a valid name; ffmpeg-python, which built the
    one-pass and plain-CRF commands, hashed it as UTF-8 and failed with an internal error."""
    src = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9 \xff.mp4")))
    lav(src, "testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264")
    out = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"out \xe9.mp4")))
    report = os.path.join(os.fsencode(tmp_path), b"report \xe9.html")
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", os.fsencode(src), os.fsencode(out), "--effort", effort,
                        "--compare-crf", "23", "--json", "-q", "--report", report], capture_output=True)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert count_decoded_frames(out) == 25
    assert b"out \xe9.mp4" in Path(os.fsdecode(report)).read_bytes()  # the page names the file by its own bytes
    d = json.loads(r.stdout)
    assert d["compare"]["video_bytes"] > 0
    assert r.stdout.isascii() and os.fsencode(d["output"]) == os.fsencode(out)  # the README's promise: bytes back


def test_a_failure_log_takes_a_file_name_that_is_not_utf8():
    from jndenc.media import runner
    err = runner._failure(["ffmpeg", "-i", os.fsdecode(b"caf\xe9.mp4")], "Invalid data found", "encoding it")
    assert err.log_path and Path(err.log_path).read_text().startswith("ffmpeg -i caf\\udce9.mp4")
    Path(err.log_path).unlink()
