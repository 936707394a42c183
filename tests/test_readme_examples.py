"""Every Python example in the README runs as written, on a small generated clip named as the examples name it."""
from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import make_cut_clip

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_python_examples():
    assert python_blocks()


def test_readme_python_examples_run(tmp_path, monkeypatch):
    make_cut_clip(tmp_path / "in.mp4", seconds=(1, 1, 1))
    for ep in ("ep1.mp4", "ep2.mp4"):
        make_cut_clip(tmp_path / ep, seconds=(1, 1, 0.5), audio=False)
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(python_blocks()):
        exec(compile(block, f"README.md python block {i}", "exec"), {"__name__": f"readme_{i}"})
    assert (tmp_path / "out.mp4").exists() and (tmp_path / "plugin.mp4").exists()
    assert (tmp_path / "batch" / "in.mp4").exists() and (tmp_path / "learned1.mp4").exists()
    assert os.path.getsize(tmp_path / "v90.mp4") < os.path.getsize(tmp_path / "out.mp4")
