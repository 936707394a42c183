"""`jndenc bench bdrate` where a video engineer first runs it: mistakes on the command line and among the clips,
what a rerun recalls, the container every point is measured in, --json, and outputs written whole."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("bjontegaard")
pytest.importorskip("matplotlib")

from conftest import ffmpeg  # noqa: E402
from jndenc.bench import bdrate  # noqa: E402
from jndenc.bench.options import BenchOptions  # noqa: E402
from jndenc.fileio import write_text_atomic as write_text  # noqa: E402


def _main(capsys, *argv) -> tuple[int, str, str]:
    code = bdrate.main([str(a) for a in argv])
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.mark.parametrize("args, says", [
    (["--thresholds", "90"], "--thresholds"),  # was an internal IndexError once the search ladder was planned
    (["--thresholds", "80,85,90"], "--thresholds"),  # rising: JND1 would be the worst quality
    (["--max-clips", "-1"], "--max-clips"),  # was an internal ValueError from numpy
    (["--max-frames", "-3"], "--max-frames"),  # was taken as the whole clip
    (["--threads", "0"], "--threads"),
    (["--crf-ladder", "23,23"], "two different CRFs"),  # one point: every BD-rate n/a
    (["--crf-ladder", "10,80"], "libx264's CRF range 0..51"),  # was 'plan: shots[0] has CRF 80.0' after the cut
    (["--codec", "av1", "--modes", "balanced", "--crf-ladder", "30,70"], "libsvtav1's CRF range 1..63"),
    (["--targets", "0,2"], "--targets"),
    (["--codec", "x265", "--calibration", "nope.json"], "nope.json: no such file"),  # was internal FileNotFoundError
])
def test_bad_options_are_one_line_before_anything_is_written(cut_clip, tmp_path, capsys, args, says):
    out = tmp_path / "out"
    code, stdout, err = _main(capsys, cut_clip, "--out", out, "--modes", "search", *args)
    assert code == 2 and says in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("argv, says", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--max-clips", "x"], "--max-clips"),
    ([], "required: CLIP_OR_DIR, --out"),
])
def test_usage_mistakes_are_one_line(tmp_path, capsys, argv, says):
    with pytest.raises(SystemExit) as exc:
        bdrate.main([str(tmp_path), "--out", str(tmp_path / "out")] * bool(argv) + argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and says in err and err.count("\n") == 1, err  # not argparse's usage block
    assert not (tmp_path / "out").exists()


def test_clips_that_cannot_be_measured_are_refused_before_the_first_encode(cut_clip, tmp_path, capsys):
    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copy(cut_clip, clips / "a.mp4")
    # sorted after a.mp4: it used to stop the run only once a.mp4 had been encoded and measured
    (clips / "b.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    code, _, err = _main(capsys, clips, "--out", out, "--modes", "search")
    assert code == 2 and "b.mp4" in err and "not a video" in err
    assert not out.exists()

    tiny = tmp_path / "tiny.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=16x16:rate=25:duration=1", "-c:v", "libx264", str(tiny))
    code, _, err = _main(capsys, tiny, "--out", out, "--modes", "search")
    # was 'FFmpeg failed while measuring VMAF of OUT/_work/enc/....mp4', exit 1
    assert code == 2 and "too small for VMAF" in err and "tiny.mp4" in err
    assert not out.exists()


def test_an_out_that_is_a_file_is_one_line(cut_clip, tmp_path, capsys):
    f = tmp_path / "results"
    f.write_text("")
    for out in (f, f / "sub"):  # was an internal FileExistsError / NotADirectoryError
        code, _, err = _main(capsys, cut_clip, "--out", out, "--modes", "search")
        assert code == 2 and str(out) in err and err.count("\n") == 1


def test_two_clips_of_one_name_are_refused_and_a_clip_given_twice_counts_once(cut_clip, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=25", "-frames:v", "10", "-c:v", "libx264",
           str(other / cut_clip.name))
    out = tmp_path / "out"
    # both were benchmarked, then drawn into one rd_cuts.png and reported as two rows named cuts.mp4
    code, _, err = _main(capsys, cut_clip, other / cut_clip.name, "--out", out, "--modes", "search")
    assert code == 2 and "two clips named cuts.mp4" in err and not out.exists()
    # a folder and a clip in it: the clip once, not twice in every mean
    res = bdrate.run([other, other / cut_clip.name], out,
                     BenchOptions(crf_ladder=(23, 28), modes=(), preset="ultrafast", max_frames=5, match=False,
                                  quiet=True))
    assert res["summary"]["clips"] == 1 and len(res["rows"]) == 2


def test_changing_threads_encodes_the_points_again(cut_clip, tmp_path):
    # x264's output and every timing change with its thread count; a rerun with --threads 1 recalled points
    # encoded with the default threads and reported them under threads=1
    opts = dict(crf_ladder=(23, 28), modes=(), preset="ultrafast", max_frames=10, match=False, quiet=True)
    first = bdrate.run([cut_clip], tmp_path, BenchOptions(**opts))
    assert first["run"]["counters"]["encodes"] == 2
    one = bdrate.run([cut_clip], tmp_path, BenchOptions(**opts, threads=1))
    assert one["run"]["counters"]["encodes"] == 2 and one["run"]["counters"]["encode_hits"] == 0
    again = bdrate.run([cut_clip], tmp_path, BenchOptions(**opts, threads=1))
    assert again["run"]["counters"]["encodes"] == 0 and again["run"]["counters"]["encode_hits"] == 2


def test_json_is_one_document_and_effort_points_share_the_fixed_ladders_container(cut_clip, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = _main(capsys, cut_clip, "--out", out, "--modes", "fast", "--targets", "1,2",
                              "--crf-ladder", "23,30", "--max-frames", "25", "--preset", "ultrafast", "--no-match",
                              "--keep-encodes", "--json")
    assert code == 0, err
    doc = json.loads(stdout)  # the whole of stdout: no table, no 'results in' line
    lad = doc["summary"]["per_clip"][0]["ladders"]["jndenc-fast"]
    for key in ("bd_rate_vmaf", "bd_rate_psnr", "jnd1_vmaf_worst_shot", "analysis_s"):
        assert key in lad
    assert isinstance(lad["jnd1_vmaf_worst_shot"], float) and lad["analysis_s"] >= 0
    assert "jndenc-fast" in doc["summary"]["ladders"]
    pts = doc["points"]
    assert {p["ladder"] for p in pts} == {"fixed-crf", "jndenc-fast"}
    assert all(p["bytes"] > 0 for p in pts)
    assert all(p["target_jnd"] is None for p in pts if p["ladder"] == "fixed-crf")
    assert doc["run"]["counters"]["encodes"] == 4
    # an effort point was muxed into .mkv against the fixed ladder's .mp4: a percent or two of a small clip's
    # bytes in the effort ladder's favour
    encs = list((out / "_work" / "enc").iterdir())
    assert encs and {p.suffix for p in encs} == {".mp4"}
    # and a point's bytes are its video stream's, whatever its container
    from jndenc.media.decode import count_packets

    sizes = {count_packets(p).bytes for p in encs}
    assert all(p["bytes"] in sizes for p in pts)
    assert all(p["bytes"] < e.stat().st_size for p, e in zip(sorted(pts, key=lambda p: p["bytes"]),
                                                            sorted(encs, key=lambda e: count_packets(e).bytes)))


def test_a_missing_bench_extra_is_refused_before_the_first_encode(cut_clip, tmp_path):
    out = tmp_path / "out"
    code = ("import sys; sys.modules['bjontegaard'] = None\n"  # as where the [bench] extra is not installed
            "from jndenc.cli import main; main()")
    r = subprocess.run([sys.executable, "-c", code, "bench", "bdrate", str(cut_clip), "--out", str(out),
                        "--modes", "search", "--max-frames", "10"], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert r.returncode == 2 and "pip install 'jndenc[bench]'" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()  # it used to say so only after the first clip's encodes


def test_an_output_is_replaced_whole_or_left_as_it_was(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text('{"old": 1}')
    with pytest.raises(UnicodeEncodeError):
        write_text(path, '{"new": "\ud800"}')  # fails once the file is open, as an interrupt would
    assert path.read_text() == '{"old": 1}'
    assert [p.name for p in Path(tmp_path).iterdir()] == ["summary.json"]
    write_text(path, "{}")
    assert path.read_text() == "{}"


def test_a_rerun_with_fewer_clips_leaves_only_its_own_plots(cut_clip, tmp_path):
    from PIL import Image

    other = tmp_path / "other.mp4"
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=25", "-frames:v", "10", "-c:v", "libx264", str(other))
    out = tmp_path / "out"
    opts = BenchOptions(crf_ladder=(23, 28), modes=(), preset="ultrafast", max_frames=5, match=False, quiet=True)
    bdrate.run([cut_clip, other], out, opts)
    assert (out / "rd_other.png").is_file()
    # a user's own files, one of them named like a plot: a rerun must not take them for the bench's
    Image.new("RGB", (4, 4)).save(out / "rd_mine.png")
    (out / "notes.txt").write_text("mine")
    bdrate.run([cut_clip], out, opts)
    # rd_other.png stayed from the first run, beside a summary of cuts.mp4 alone
    assert {p.name for p in out.glob("rd_*.png")} == {"rd_cuts.png", "rd_overall.png", "rd_mine.png"}
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "run.json").read_text())["clips"][0]["name"] == "cuts.mp4"


def _bar_counts(argv: list[str], timeout: float = 240) -> tuple[int, list[tuple[int, int]], str]:
    """``bdrate argv`` with stderr on a terminal, as a user sees its progress bar: the exit code, every
    ``done/total`` the bar drew, and what it printed."""
    import fcntl
    import pty
    import re
    import select
    import struct
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))  # room for the counts
    # every update drawn: tqdm otherwise skips those within 0.1 s of the last, the final one among them
    env = {**os.environ, "TQDM_MININTERVAL": "0", "TQDM_MINITERS": "1"}
    code = "import sys; from jndenc.bench import bdrate; sys.exit(bdrate.main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    return rc, [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+) \[", text)], text


def test_the_progress_bar_of_guided_with_several_margins_ends_at_its_total(cut_clip, tmp_path):
    import tqdm

    if tuple(int(x) for x in tqdm.__version__.split(".")[:2]) < (4, 66):
        pytest.skip("tqdm before 4.66 reads no TQDM_* settings from the environment")
    rc, counts, text = _bar_counts([str(cut_clip), "--out", str(tmp_path / "out"), "--modes", "guided,search",
                                    "--margins", "0,1,2", "--targets", "1,2", "--crf-ladder", "23,30",
                                    "--max-frames", "10", "--preset", "ultrafast", "--no-match"])
    assert rc == 0, text[-2000:]
    # 2 fixed CRFs, guided's one ladder of 2 targets (it aims at each target itself, margin 0), search's 3 x 2;
    # the total counted 3 ladders for guided too and the bar stopped at 10 of 14
    assert counts and counts[-1] == (10, 10), counts[-3:]


@pytest.mark.parametrize("modes, says", [
    (",", "--modes: no mode given"),  # split to nothing: ran the fixed ladder alone, exit 0
    (" , ", "--modes: no mode given"),
    ("bogus", "--modes 'bogus': not an effort level"),
    ("search,probe+ensure", "--modes 'probe+ensure'"),  # `jndenc encode`'s recipe, not a bench ladder
])
def test_an_empty_or_unknown_mode_list_is_one_line(cut_clip, tmp_path, capsys, modes, says):
    out = tmp_path / "out"
    code, _, err = _main(capsys, cut_clip, "--out", out, "--modes", modes, "--max-frames", "5")
    assert code == 2 and says in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_the_jndenc_command_refuses_an_empty_mode_list_with_exit_2(cut_clip, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "jndenc", "bench", "bdrate", str(cut_clip), "--out", str(out),
                        "--modes", ","], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert r.returncode == 2 and "--modes: no mode given" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("margins, says", [
    (",", "--margins: CRF steps or 'auto', not none"),  # split to nothing: the search ladder dropped, exit 0
    (" , ", "--margins: CRF steps or 'auto', not none"),
    ("1,zz", "not zz"),  # was argparse's usage block above the error
    ("nan", "not nan"),  # was refused by the planner, after the fixed ladder's encodes had made --out
])
def test_an_empty_or_malformed_margin_list_is_one_line(cut_clip, tmp_path, capsys, margins, says):
    out = tmp_path / "out"
    code, _, err = _main(capsys, cut_clip, "--out", out, "--modes", "search", "--margins", margins,
                         "--crf-ladder", "23,28", "--targets", "1", "--max-frames", "5", "--preset", "ultrafast",
                         "--no-match")
    assert code == 2 and says in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_clips_of_one_stem_and_a_clip_named_overall_get_a_plot_each(cut_clip, tmp_path):
    from jndenc.bench.plots import _is_bench_plot

    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copy(cut_clip, clips / "x.mp4")
    for name, src in (("x.mkv", "mandelbrot=size=160x120:rate=25"), ("overall.mp4", "testsrc=size=160x120:rate=25")):
        ffmpeg("-f", "lavfi", "-i", src, "-frames:v", "10", "-c:v", "libx264", str(clips / name))
    out = tmp_path / "out"
    opts = BenchOptions(crf_ladder=(23, 28), modes=(), preset="ultrafast", max_frames=5, match=False, quiet=True)
    bdrate.run([clips / "x.mp4"], out, opts)
    assert {p.name for p in out.glob("rd_*.png")} == {"rd_x.png", "rd_overall.png"}  # alone, as before
    res = bdrate.run([clips], out, opts)
    # x.mkv's plot was drawn over x.mp4's, and overall.mp4's under the average's: two plots for three clips
    plots = {p.name: p for p in out.glob("rd_*.png")}
    assert set(plots) == {"rd_x.mp4.png", "rd_x.mkv.png", "rd_overall.mp4.png", "rd_overall.png"}
    assert len({p.read_bytes() for p in plots.values()}) == 4 and all(map(_is_bench_plot, plots.values()))
    assert sorted(c["clip"] for c in res["summary"]["per_clip"]) == ["overall.mp4", "x.mkv", "x.mp4"]
    assert len({(r["clip"], r["crf"]) for r in res["rows"]}) == len(res["rows"]) == 6
    # the rerun alone names x.mp4's plot as the first run did; the others' are that run's and go
    bdrate.run([clips / "x.mp4"], out, opts)
    assert {p.name for p in out.glob("rd_*.png")} == {"rd_x.png", "rd_overall.png"}


def test_clips_whose_plots_would_still_meet_are_refused_before_the_first_encode(cut_clip, tmp_path, capsys):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a b.mp4", "a_b.mp4"):  # one plot name once the space is made safe for a file name
        shutil.copy(cut_clip, clips / name)
    out = tmp_path / "out"
    code, _, err = _main(capsys, clips, "--out", out, "--modes", "search", "--max-frames", "5")
    assert code == 2 and "a b.mp4 and" in err and "a_b.mp4 would share the plot rd_a_b.mp4.png" in err, err
    assert err.count("\n") == 1 and not out.exists()
