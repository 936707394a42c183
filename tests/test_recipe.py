"""Recipe strings, parsed in one place (`jndenc.recipe`) for benchmarks, ladders and scripts."""
from __future__ import annotations

import pytest

from jndenc.errors import UserError
from jndenc.recipe import Recipe


@pytest.mark.parametrize("spec,kwargs,args", [
    ("balanced", {"effort": "balanced"}, ["--effort", "balanced"]),
    ("predict", {"mode": "predict"}, ["--mode", "predict"]),
    ("probe@0.5+tighten", {"mode": "probe", "confidence": 0.5, "tighten": True},
     ["--mode", "probe", "--confidence", "0.5", "--tighten"]),
    ("guided+ensure", {"mode": "guided", "ensure": True}, ["--mode", "guided", "--ensure"]),
])
def test_recipe_spellings(spec, kwargs, args):
    r = Recipe.parse(spec)
    assert r.kwargs() == kwargs and r.cli_args() == args


@pytest.mark.parametrize("bad", ["quick", "probe+verify", "guided@0.5", "predict@1.5", "probe@x", "fast+tighten"])
def test_recipe_refuses_what_it_cannot_run(bad):
    with pytest.raises(UserError):
        Recipe.parse(bad)


def test_recipe_options_are_encode_options():
    from click.testing import CliRunner

    from jndenc.cli import main

    # every option a recipe spells is one `jndenc encode` takes (parsed by click; --help stops before encoding)
    for spec in ("thorough", "probe@0.7+ensure", "predict+tighten"):
        res = CliRunner().invoke(main, ["encode", "in.mp4", "out.mp4", *Recipe.parse(spec).cli_args(), "--help"])
        assert res.exit_code == 0, res.output
