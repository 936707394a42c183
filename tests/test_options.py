"""Encode options as typed groups: one home per field and its default."""
from __future__ import annotations

from dataclasses import fields

import click
import pytest

from jndenc.analyze import ShotOptions
from jndenc.cli.encode import encode as encode_cmd
from jndenc.encode import encode
from jndenc.options import Aim, Codec, EncodeOptions, Expert, Trials
from jndenc.pipeline import analyse_and_plan


def test_flat_keywords_land_in_their_groups():
    o = EncodeOptions.from_kwargs(effort="thorough", codec="av1", target_vmaf=92.0, crf=None, jobs=2,
                                  overwrite=True, thresholds=(95.0, 90.0, 85.0), weights="w.keras")
    assert (o.work.effort, o.work.jobs, o.codec.codec, o.aim.target_vmaf) == ("thorough", 2, "av1", 92.0)
    assert (o.outputs.overwrite, o.trials.thresholds, o.analysis.weights) == (True, (95.0, 90.0, 85.0), "w.keras")
    assert o.codec.preset == Codec.preset  # untouched fields keep their one default
    changed = o.with_(preset="slow", ensure=True)
    assert (changed.codec.preset, changed.codec.codec, changed.expert.ensure) == ("slow", "av1", True)
    assert o.codec.preset == Codec.preset  # with_ copies


def test_a_misspelt_keyword_is_refused():
    with pytest.raises(TypeError, match="presett"):
        EncodeOptions.from_kwargs(presett="slow")
    with pytest.raises(TypeError, match="not both"):
        encode("in.mp4", "out.mp4", EncodeOptions(), effort="fast")


def test_the_planner_gets_every_planning_field_and_no_unset_mode():
    kw = EncodeOptions.from_kwargs(codec="x265", min_crf=14.0).plan_kwargs()
    assert "mode" not in kw and kw["codec"] == "x265" and kw["min_crf"] == 14.0
    assert set(kw) <= set(analyse_and_plan.__code__.co_varnames[:analyse_and_plan.__code__.co_kwonlyargcount + 1])
    assert EncodeOptions.from_kwargs(mode="probe").plan_kwargs()["mode"] == "probe"


def test_an_expert_option_is_named_as_the_user_typed_it():
    assert Expert().chosen() == []
    assert Expert(mode="probe", tighten=True, granularity="frame").chosen() == ["mode", "ensure/tighten",
                                                                                 "granularity frame"]


def test_cli_and_planner_defaults_come_from_the_option_groups():
    """One default per field: the flags and `analyse_and_plan` read theirs from the dataclasses."""
    defaults = {p.name: p.default for p in encode_cmd.params if isinstance(p, click.Option)}
    assert defaults["codec"] == Codec.codec and defaults["preset"] == Codec.preset
    assert (defaults["min_crf"], defaults["max_crf"]) == (Codec.min_crf, Codec.max_crf)
    assert defaults["target_jnd"] == Aim.target_jnd and defaults["granularity"] == Expert.granularity
    assert defaults["max_shot_seconds"] == ShotOptions.max_shot_seconds and defaults["detector"] == ShotOptions.detector
    assert [float(x) for x in defaults["thresholds"].split(",")] == list(Trials.thresholds)
    kwdefaults = analyse_and_plan.__kwdefaults__
    for group in (Codec, Trials):
        for f in fields(group):
            if f.name in kwdefaults:
                assert kwdefaults[f.name] == f.default, f.name
