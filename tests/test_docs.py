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


PLACEHOLDERS = {"OUT", "DIR", "FILE", "PATH", "NAME"}  # OUT.md in a usage line names the user's file


def test_docs_and_code_cite_only_files_in_the_repo():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = {Path(f).name for f in tracked_files()}
    bad = []
    for path in text_files():
        text = path.read_text(errors="replace")
        # README.md, MODEL_CARD.md, ...; "repo LICENSE.md" names a file of a clip's source repository
        for m in re.finditer(r"(?<!repo )\b[A-Z][A-Z0-9_]*\.md\b", text):
            if m.group(0) not in names and m.group(0)[:-3] not in PLACEHOLDERS:
                bad.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
        for m in re.finditer(r"\b(?:tests|jndenc|benchmarks)/[\w/]+\.py\b", text):
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


# ------------------------------------------------------------------ tables generated from committed JSON

def _tables():
    import importlib.util

    spec = importlib.util.spec_from_file_location("doc_tables", ROOT / "benchmarks" / "tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_doc_tables_are_what_the_committed_json_gives():
    import sys

    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tables.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr


def test_rendering_follows_the_json():
    import copy
    import json

    t = _tables()
    cv5 = json.loads((ROOT / "weights" / "model_card_cv5.json").read_text())
    before = t.model_card_mae(cv5)
    changed = copy.deepcopy(cv5)
    changed["mae"]["model"][0] = 9.999
    after = t.model_card_mae(changed)
    assert "**10.00**" in after and "**10.00**" not in before
    # a doc whose region holds other numbers than its JSON gives is rewritten (and so fails --check)
    doc = (ROOT / "weights" / "MODEL_CARD.md").read_text()
    assert t.fill(doc, t.render_region) == doc
    shown = f"| **{cv5['mae']['model'][0]:.2f}** |"
    tampered = doc.replace(shown, "| **99.99** |", 1)
    assert tampered != doc and t.fill(tampered, t.render_region) == doc
    with pytest.raises(KeyError, match="no renderer"):
        t.fill("<!-- table:nope -->\n<!-- /table:nope -->", t.render_region)


REGION = re.compile(r"<!-- table:([\w-]+) -->.*?<!-- /table:\1 -->", re.S)  # a region tables.py renders


def _outside_regions(text: str) -> str:
    """A doc without its generated regions: what a person typed."""
    return REGION.sub("", text)


def test_no_hand_typed_figure_tables_outside_generated_regions():
    for rel in _tables().DOCS:
        text = _outside_regions((ROOT / rel).read_text())
        rows = [ln for ln in text.splitlines() if ln.startswith("|") and re.search(r"\d+\.\d+|\d+%", ln)]
        assert not rows, f"{rel}: figures typed into a table by hand: {rows[:2]}"


def test_every_benchmark_script_is_listed():
    listed = (ROOT / "benchmarks" / "README.md").read_text()
    scripts = [Path(f).name for f in tracked_files() if re.fullmatch(r"benchmarks/\w+\.py", f)]
    assert "tables.py" in scripts
    missing = [s for s in scripts if f"| `{s}`" not in listed]
    assert not missing, f"benchmarks/README.md's script table does not list {missing}"


def test_readme_prose_holds_no_hand_typed_measurements():
    """The README's measured figures (a share such as 14.3%, a cost such as 3.4x) come from generated regions, so a
    rerun cannot leave an old figure standing in a sentence (code blocks, whose figures are examples, aside)."""
    text = _outside_regions((ROOT / "README.md").read_text())
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    typed = [ln for ln in text.splitlines() if re.search(r"\d%|\d\.\d+x\b|\dx\b", ln)]
    assert not typed, f"README.md: measured figures typed into prose: {typed[:2]}"


def test_prose_figures_of_the_benchmark_docs_quote_their_tables():
    """benchmarks/README.md and the model card explain their tables in prose; a measured figure there with
    decimals (a cost such as 4.50x, a share such as 13.9%) must be one of the doc's generated figures, so a rerun
    that moves the data leaves no old figure standing in a sentence (code blocks aside)."""
    stale = []
    for rel in ("benchmarks/README.md", "weights/MODEL_CARD.md"):
        full = (ROOT / rel).read_text()
        tables = "\n".join(m.group(0) for m in REGION.finditer(full))
        prose = re.sub(r"```.*?```", "", _outside_regions(full), flags=re.S)
        stale += [f"{rel}: {f}" for f in re.findall(r"\d+\.\d+(?:%|x\b)", prose) if f not in tables]
    assert not stale, f"prose figures found in no generated table of their doc: {stale}"


def _provenance():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import provenance

    return provenance


def test_every_committed_result_has_a_role_and_no_choice_read_a_test_clip_unnoticed():
    p = _provenance()
    rows = p.scan()
    assert {r["path"] for r in rows} >= {"benchmarks/results/segments.json", "weights/model_card_cv5.json"}
    assert p.problems(rows) == []


def test_provenance_finds_the_clips_a_result_names():
    p = _provenance()
    splits = p.clip_splits()
    test_clip = next(c for c, s in sorted(splits.items()) if s == "test")
    train_clip = next(c for c, s in sorted(splits.items()) if s == "train")
    data = {"runs": {f"{test_clip}:variant": 1}, "options": {"clips": [f"../shared/clips/{train_clip}"]},
            "per_shot": [{"clip": Path(train_clip).stem + "~scale50.mkv"}], "other": "not a clip"}
    assert p.clips_read(data, splits) == {test_clip, train_clip}
    # a choice reading that test clip is reported unless it is a known, explained case
    row = {"path": "benchmarks/results/new.json", "role": p.CHOICE, "what": "x", "train": 1, "valid": 0,
           "test": 1, "known": None}
    assert p.problems([row]) and not p.problems([{**row, "role": p.REPORT}])
