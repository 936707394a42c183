"""Documents and CI that cannot drift from the code and the committed data."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The README's first two code blocks: the install+demo command and the test command."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [b.strip() for b in blocks[:2]]


def test_ci_runs_the_readme_commands_verbatim():
    cmds = readme_commands()
    assert cmds == ['pip install -e ".[test]" && jndenc demo', "python -m pytest -q"]
    lines = [re.sub(r"\s*\|\|\s*exit\s*$", "", ln.strip()) for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    for cmd in cmds:
        assert cmd in lines, f".ci/run does not run the README command {cmd!r} as written"


def _shim(bin_dir: Path, name: str, body: str) -> None:
    p = bin_dir / name
    p.write_text(f"#!/bin/sh\necho {name} \"$@\" >> \"$CALLS\"\n{body}\n")
    p.chmod(0o755)


@pytest.mark.parametrize("pip_rc,pytest_rc,want_rc,want_calls", [
    (0, 0, 0, ["pip", "jndenc", "python"]),
    (0, 5, 5, ["pip", "jndenc", "python"]),   # no tests collected: a failure, not a pass
    (0, 1, 1, ["pip", "jndenc", "python"]),
    (1, 0, 1, ["pip"]),                        # a failed install stops CI before the demo
])
def test_ci_exit_status(tmp_path, pip_rc, pytest_rc, want_rc, want_calls):
    """.ci/run's control flow with stand-ins for pip/jndenc/python (the real ones take minutes)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _shim(bin_dir, "pip", f"exit {pip_rc}")
    _shim(bin_dir, "jndenc", "exit 0")
    _shim(bin_dir, "python", f'[ "$1 $2" = "-m pytest" ] && exit {pytest_rc}; exit 0')
    calls = tmp_path / "calls"
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", CALLS=str(calls))
    r = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True)
    assert r.returncode == want_rc, r.stdout + r.stderr
    assert [ln.split()[0] for ln in calls.read_text().splitlines()] == want_calls


# ------------------------------------------------------------------ citations: only what the repo holds

def tracked_files() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def text_files() -> list[Path]:
    return [ROOT / f for f in tracked_files() if f.endswith((".py", ".md", ".cfg", ".toml")) or f.startswith(".ci/")]


def test_docs_and_code_cite_only_files_in_the_repo():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = {Path(f).name for f in tracked_files()}
    bad = []
    for path in text_files():
        text = path.read_text(errors="replace")
        # README.md, MODEL_CARD.md, ...; "repo LICENSE.md" names a file of a clip's source repository
        for m in re.finditer(r"(?<!repo )\b[A-Z][A-Z0-9_]*\.md\b", text):
            if m.group(0) not in names:
                bad.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
        for m in re.finditer(r"\btests/test_\w+\.py\b", text):
            if not (ROOT / m.group(0)).is_file():
                bad.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not bad, "cited but not in the repo: " + "; ".join(bad)


def test_cited_sections_exist():
    cites = []
    for path in text_files():
        for m in re.finditer(r"([\w./-]+\.md) section [\"']([^\"']+)[\"']", path.read_text(errors="replace")):
            cites.append((path, m.group(1), m.group(2)))
    assert any(c[2] == "Proxy-JND labels" for c in cites)  # the label recipe is cited from the code
    for path, doc, section in cites:
        target = ROOT / doc if (ROOT / doc).exists() else path.parent / doc
        headings = {h.strip() for h in re.findall(r"^#+ (.+)$", target.read_text(), re.M)}
        assert section in headings, f"{path.relative_to(ROOT)} cites {doc} section {section!r}, which has none"


# ------------------------------------------------------------------ README facts that the code decides

def test_readme_cnn_bound_is_the_models():
    from jndenc.models.compact import DEEP_LIMIT

    steps = re.findall(r"bounded to (\d+(?:\.\d+)?) CRF steps?", (ROOT / "README.md").read_text())
    assert steps and all(float(s) == DEEP_LIMIT for s in steps), (steps, DEEP_LIMIT)


def test_readme_x265_offset_is_added_before_the_floor():
    from jndenc.planner import PlanOptions, crf_for

    assert "`CRF = floor(JND_target - margin + x265 offset)`" in (ROOT / "README.md").read_text()
    table = ((0.0, -0.6), (51.0, -0.6))
    # 30.5 - 1 - 0.6 = 28.9 -> 28; offset after the floor would give 29 - 0.6 = 28.4
    assert crf_for([30.5, 35, 40], PlanOptions(codec="x265", x265_offsets=table)) == 28.0


def test_calibration_examples_are_the_measured_table():
    import json

    import jndenc.calibrate

    measured = [tuple(p) for p in json.loads((ROOT / "benchmarks" / "calibration_x265.json").read_text())["x265_offsets"]]
    shown = re.findall(r"\[(-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)\]", jndenc.calibrate.__doc__)
    assert shown, "calibrate's docstring shows no example table"
    for crf, off in shown:
        assert (float(crf), float(off)) in measured, f"[{crf}, {off}] is not in benchmarks/calibration_x265.json"
