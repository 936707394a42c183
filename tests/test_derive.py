"""`jndenc dataset derive`: scaled/cropped copies as extra label sources, kept in their parent's split."""
import json

import pytest

from conftest import ffmpeg
from jndenc.training.dataset import BuildOptions, build
from jndenc.training.derive import MANIFEST, Derivation, applicable, derive_args, derive_clips, derived_size, video_filter
from jndenc.errors import UserError
from jndenc.media.probe import probe
from jndenc.search import SearchOptions


def test_sizes_are_even_and_filters_centre_the_crop():
    assert derived_size(1920, 1080, Derivation("scale", 0.25)) == (480, 270)
    assert derived_size(426, 240, Derivation("scale", 0.5)) == (212, 120)
    assert video_filter(1280, 720, Derivation("scale", 0.5)) == "scale=640:360:flags=lanczos"
    assert video_filter(1280, 720, Derivation("crop", 0.5)) == "crop=640:360:320:180"
    assert [d.tag for d in applicable(352, 288, [Derivation("scale", 0.5), Derivation("scale", 0.25)], 120)] == ["scale50"]


def test_derive_args_are_lossless_video_only(tmp_path):
    a = derive_args(tmp_path / "in.mp4", tmp_path / "out.mkv", "scale=2:2", 4.0)
    assert a[a.index("-qp") + 1] == "0" and "-an" in a and a[a.index("-t") + 1] == "4"
    assert "-t" not in derive_args(tmp_path / "in.mp4", tmp_path / "out.mkv", "scale=2:2", None)


@pytest.mark.parametrize("text", ["scale", "zoom:0.5", "crop:1.5", "scale:x"])
def test_bad_derivation_is_a_user_error(text):
    with pytest.raises(UserError):
        Derivation.parse(text)


def test_copies_are_labelled_in_their_parents_split(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name, src in {"a.mp4": "testsrc2=size=256x192:rate=25", "b.mp4": "mandelbrot=size=256x192:rate=25",
                      "c.mp4": "testsrc=size=256x192:rate=25"}.items():
        ffmpeg("-f", "lavfi", "-i", src, "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "8",
               str(clips / name))
    derived = tmp_path / "derived"
    made = derive_clips(sorted(clips.iterdir()), derived, [Derivation("scale", 0.5)], seconds=1.0, min_side=64,
                        echo=lambda m: None)
    assert [p.name for p in made] == ["a~scale50.mkv", "b~scale50.mkv", "c~scale50.mkv"]
    info = probe(made[0])
    assert (info.width, info.height) == (128, 96) and info.frames == 25
    manifest = json.loads((derived / MANIFEST).read_text())
    assert manifest["b~scale50.mkv"]["parent"] == "b.mp4"

    opts = BuildOptions(search=SearchOptions(preset="ultrafast", thresholds=(92.0, 80.0, 70.0), min_crf=14,
                                             max_crf=44, max_trial_seconds=1.0),
                        frames_per_shot=1, split=(1, 1, 1), workers=1, max_shots_per_clip=1)
    meta = build([clips, derived], tmp_path / "ds", opts)
    split_of = {c["name"]: c["split"] for c in meta["clips"]}
    assert sorted(set(split_of.values())) == ["test", "train", "valid"]
    for stem in "abc":
        assert split_of[f"{stem}~scale50.mkv"] == split_of[f"{stem}.mp4"]
    assert {c.get("parent") for c in meta["clips"]} == {None, "a.mp4", "b.mp4", "c.mp4"}
    for split in ("train", "valid", "test"):
        rows = (tmp_path / "ds" / split / "features.csv").read_text().splitlines()
        assert rows[0].endswith(",group") and len(rows) == 3
        assert len({r.rsplit(",", 1)[1] for r in rows[1:]}) == 1  # one parent per split here
