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
    assert (tmp_path / "show_b_ep2.mp4").exists()
    assert os.path.getsize(tmp_path / "v90.mp4") < os.path.getsize(tmp_path / "out.mp4")


def readme_command_lines() -> list[str]:
    """Every `jndenc ...` line of the README's shell blocks (continuations joined, comments dropped)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith("jndenc ") and "..." not in line:  # "..." marks an example cut short on purpose
                lines.append(line)
    return lines


def test_every_readme_command_parses_with_the_real_cli(tmp_path, monkeypatch):
    """Each README command line, with its input files and folders present, gets through the command's own option
    parser: an option renamed or removed, or a choice no longer offered, fails here (nothing is encoded)."""
    import shlex

    import click

    from jndenc.cli import main

    monkeypatch.chdir(tmp_path)
    lines = readme_command_lines()
    assert len(lines) >= 20
    for line in lines:
        args = shlex.split(line)[1:]
        for tok in args:
            if re.fullmatch(r"[\w-]+(/[\w-]+)*/?", tok) and "/" in tok:  # a folder: in_dir/, data/derived
                (tmp_path / tok).mkdir(parents=True, exist_ok=True)
            elif re.fullmatch(r"[\w./-]+\.(mp4|mkv|csv|json|keras)", tok) and "out" not in tok:
                (tmp_path / tok).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / tok).touch()
        ctx = click.Context(main, info_name="jndenc")
        cmd, name, rest = main, "jndenc", args
        while isinstance(cmd, click.Group):
            name, rest = rest[0], rest[1:]
            cmd = cmd.get_command(ctx, name)
            assert cmd is not None, f"README: {line}: no command {name!r}"
        try:
            cmd.make_context(name, list(rest), parent=ctx)
        except click.UsageError as exc:
            raise AssertionError(f"README: {line}\n  {exc.format_message()}") from None
