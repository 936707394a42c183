"""`--report FILE.html`: a static page per encode, built from a real encode."""
from __future__ import annotations

import re
import subprocess
import sys

from jndenc.report import page, thumbnails


def test_report_page_has_a_row_and_thumbnail_per_shot(cut_clip, tmp_path):
    out, rep = tmp_path / "o.mp4", tmp_path / "o.html"
    subprocess.run([sys.executable, "-m", "jndenc.cli", "encode", str(cut_clip), str(out), "-q", "--report",
                    str(rep), "--compare-crf", "23", "--verify"], check=True)
    text = rep.read_text()
    assert text.startswith("<!doctype html>") and "http" not in text.replace("http-equiv", "")  # nothing remote
    assert len(re.findall(r'<img alt="shot \d+" src="data:image/png;base64,', text)) == 3
    assert "vs plain crf 23" in text and "target band" in text
    assert not list(tmp_path.glob(".*.tmp"))


def test_page_marks_shots_below_the_band(cut_clip, tmp_path):
    shots = [{"start_frame": 0, "end_frame": 50, "crf": 30.0, "vmaf": {"mean": 91.0, "p5": 89.0}, "outcome": "below"},
             {"start_frame": 50, "end_frame": 100, "crf": 24.0, "vmaf": {"mean": 94.2, "p5": 93.0},
              "outcome": "in_band"}]
    d = {"input": "a.mp4", "output": "b.mp4", "effort": "balanced", "mode": "loop", "codec": "x264",
         "preset": "medium", "bytes": 1000, "bitrate_kbps": 10.0, "frames": 100, "shots": shots,
         "loop": {"band": {"low": 93.7, "high": 95.0}, "attempts": 2, "encoded_over_output_frames": 1.0},
         "timings": {"total_s": 1.0}, "notes": ["<b>escaped</b>"]}
    html = page(d, thumbnails(cut_clip, [(0, 50), (50, 100)]))
    assert html.count('class="tick low"') == 1 and html.count('class="tick ok"') == 1
    assert "&lt;b&gt;escaped&lt;/b&gt;" in html
    # the encoder is named where it is not the codec's default, as the result line does (`codec_name`)
    assert "balanced, x264 medium" in page(d | {"encoder": "libx264"}, [])
    assert "balanced, av1 (librav1e) medium" in page(d | {"codec": "av1", "encoder": "librav1e"}, [])
    assert "plain VMAF" not in html  # no --compare-crf: no column to leave empty
    # the attempts' per-shot sums are not wall time: apart from the phases, and said to be added up
    cost = {"analysis": {"wall_s": 1.0, "cpu_s": 1.0}, "attempts": {"wall_s": 4.0, "cpu_s": 7.5},
            "first_attempts": {"wall_s": 5.0, "cpu_s": 5.0}, "extra_attempts": {"wall_s": 2.5, "cpu_s": 2.5},
            "total": {"wall_s": 5.5}}
    assert ("5.5s (analysis 1.0s, attempts 4.0s); added up over shots: first attempts 5.0s, extra attempts 2.5s"
            in page(d | {"cost": cost}, []))


def test_batch_report_writes_a_page_per_encoded_file(cut_clip, tmp_path):
    import shutil

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(cut_clip, src / "sub" / "a.mp4")
    p = subprocess.run([sys.executable, "-m", "jndenc.cli", "batch", str(src), str(tmp_path / "out"), "-r",
                        "--report", "--effort", "fast", "--jobs", "1", "-q"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    page_path = tmp_path / "out" / ".jndenc" / "reports" / "sub" / "a.mp4.html"
    assert page_path.exists() and "jndenc report: a.mp4" in page_path.read_text()
