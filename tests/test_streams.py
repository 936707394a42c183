"""The source's other streams in the output: copied where the container carries them, converted where it cannot,
and a picture subtitle it cannot hold left out with a note; the real muxes checked on generated clips."""
from __future__ import annotations

import json
import subprocess
import sys

import av
import pytest

from conftest import ffmpeg
from jndenc.output import carries_audio, stream_plan


@pytest.mark.parametrize("ext, audio, subs, maps, kw, noted", [
    # MP4 carries MP3 (PyAV names its decoder mp3float) and AAC as they are, PCM only re-encoded
    (".mp4", ["mp3float", "pcm_s16le"], [], ["a"], {"c:a:0": "copy", "c:a:1": "aac", "b:a:1": "128k"}, "pcm_s16le"),
    # QuickTime keeps a camera's uncompressed audio as it is
    (".mov", ["pcm_s24le", "pcm_s16le"], [], ["a"], {"c:a:0": "copy", "c:a:1": "copy"}, None),
    # text subtitles become MP4's own; Matroska takes SubRip and ASS as they are but not MP4's text format
    (".mp4", [], ["srt", "ssa"], ["s"], {"c:s:0": "mov_text", "c:s:1": "mov_text"}, None),
    (".mkv", ["aac"], ["mov_text", "ssa", "hdmv_pgs_subtitle"], ["a", "s"],
     {"c:a:0": "copy", "c:s:0": "srt", "c:s:1": "copy", "c:s:2": "copy"}, None),
    # a picture subtitle MP4 cannot hold is left out, the text one beside it kept (mapped one by one)
    (".mov", [], ["dvd_subtitle", "srt"], ["s:1"], {"c:s:0": "mov_text"}, "dvd_subtitle"),
    (".webm", ["aac", "opus"], ["srt"], ["a", "s"],
     {"c:a:0": "libopus", "b:a:0": "96k", "c:a:1": "copy", "c:s:0": "webvtt"}, "aac"),
    (".avi", ["mp3float"], ["srt"], ["a"], {"c:a:0": "copy"}, "subrip"),
    (".mkv", [], [], [], {}, None),
    # MPEG-TS: broadcast audio and DVB subtitles as they are, PCM to AAC, text subtitles left out
    (".ts", ["ac3", "pcm_s16le"], ["dvb_subtitle", "srt"], ["a", "s:0"], {"c:a:0": "copy", "c:a:1": "aac",
                                                                          "b:a:1": "128k", "c:s:0": "copy"}, "subrip"),
])
def test_stream_plan(ext, audio, subs, maps, kw, noted):
    got_maps, got_kw, notes = stream_plan(ext, audio, subs)
    assert got_maps == maps and got_kw == kw
    assert (noted is None and not notes) or (noted is not None and any(noted in n for n in notes)), notes
    assert carries_audio(got_maps) == bool(audio)


def test_re_encoded_audio_gets_a_rate_for_its_channels():
    # FFmpeg's AAC encoder takes 128 kb/s whatever the channels: a stereo rate, which starves a 5.1 mix
    _, kw, _ = stream_plan(".mp4", ["pcm_s24le", "pcm_s16le"], [], channels=[6, 1])
    assert kw["b:a:0"] == "384k" and kw["b:a:1"] == "64k"
    assert stream_plan(".avi", ["flac"], [], channels=[6])[1]["b:a:0"] == "128k"  # MP3: two channels at most
    assert "b:a:0" not in stream_plan(".mkv", ["pcm_s24le"], [], channels=[6])[1]  # copied as it is


def test_cover_art_goes_into_mp4_as_a_picture_and_is_said_left_out_elsewhere():
    maps, kw, notes = stream_plan(".mov", ["aac"], [], covers=[2, 4])
    assert maps == ["a", "2", "4"] and not notes
    assert (kw["c:v:1"], kw["disposition:v:1"], kw["c:v:2"]) == ("copy", "attached_pic", "copy")
    for ext in (".mkv", ".webm", ".ts"):  # Matroska would get it as a one-frame video track
        maps, kw, notes = stream_plan(ext, [], [], covers=[1])
        assert maps == [] and "c:v:1" not in kw
        assert [n for n in notes if n.startswith("cover art (1 attached picture(s)) left out")]


def _streams(path):
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name) for s in c.streams]


@pytest.fixture(scope="module")
def subbed(tmp_path_factory):
    """An MP4 with MP4 text subtitles, and a Matroska file with SubRip subtitles and MP3 audio."""
    d = tmp_path_factory.mktemp("subs")
    srt = d / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n\n2\n00:00:01,000 --> 00:00:02,000\nagain\n")
    src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i", "sine=duration=2",
           "-i", str(srt), "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast"]
    mp4, mkv = d / "sub.mp4", d / "sub.mkv"
    ffmpeg(*src, "-c:a", "aac", "-c:s", "mov_text", str(mp4))
    ffmpeg(*src, "-c:a", "libmp3lame", "-c:s", "srt", str(mkv))
    return mp4, mkv


@pytest.mark.parametrize("effort", ["fast", "balanced"])
def test_subtitles_and_audio_cross_containers(subbed, tmp_path, effort):
    mp4, mkv = subbed
    for src, out, want in ((mp4, tmp_path / "o.mkv", [("audio", "aac"), ("subtitle", "srt")]),
                           (mkv, tmp_path / "o.mp4", [("audio", "mp3float"), ("subtitle", "mov_text")])):
        r = subprocess.run([sys.executable, "-m", "jndenc", "encode", src, out, "--effort", effort, "--json", "-q"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert _streams(out)[1:] == want
        assert not any("dropped" in n or "re-encoded" in n for n in json.loads(r.stdout)["notes"])


def test_attachments_go_where_the_container_holds_them():
    assert stream_plan(".mkv", ["aac"], ["ssa"], attachments=2)[0] == ["a", "s", "t"]
    maps, _, notes = stream_plan(".mp4", ["aac"], ["ssa"], attachments=2)
    assert "t" not in maps and any("2 attachment(s)" in n for n in notes)


@pytest.mark.parametrize("effort", ["fast", "balanced"])
def test_subtitle_fonts_and_chapters_stay_with_a_matroska_output(tmp_path, effort):
    """An anime release's ASS subtitles are drawn with the fonts attached to its Matroska file; the output lost
    them (a player then draws the subtitles in another font)."""
    ass = tmp_path / "s.ass"
    ass.write_text("[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\n"
                   "Style: Default,Font One,20\n\n[Events]\nFormat: Layer, Start, End, Style, Text\n"
                   "Dialogue: 0,0:00:00.50,0:00:01.50,Default,hello\n")
    font = tmp_path / "one.ttf"
    font.write_bytes(b"not really a font, but attached as one")
    meta = tmp_path / "chapters.txt"
    meta.write_text(";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=One\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Two\n")
    src = tmp_path / "a.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-i", str(ass), "-i", str(meta),
           "-map", "0", "-map", "1", "-map_chapters", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:s", "ass",
           "-attach", str(font), "-metadata:s:t", "mimetype=font/ttf", str(src))
    out = tmp_path / "o.mkv"
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", src, out, "--effort", effort, "--json", "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with av.open(str(out)) as c:
        got = [(s.name, s.mimetype) for s in c.streams.attachments]
        kinds = [s.type for s in c.streams]
        chapters = [ch["metadata"].get("title") for ch in c.chapters()]
    assert got == [("one.ttf", "font/ttf")]
    assert chapters == ["One", "Two"]
    assert kinds == ["video", "subtitle", "attachment"]


@pytest.mark.parametrize("effort", ["fast", "balanced"])
def test_mpeg_ts_in_and_out(tmp_path, effort):
    """A broadcast capture (MPEG-TS, starting an hour in) encoded back to MPEG-TS, audio beside it. The output's
    check seeks to its last key frame, and in MPEG-TS a seek to a file's only key frame landed nowhere: every TS
    output was refused as undecodable, so .ts was not offered."""
    src = tmp_path / "cap.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-f", "lavfi", "-i", "sine=duration=2",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "mp2", "-output_ts_offset", "3600", "-f", "mpegts",
           str(src))
    out = tmp_path / "o.ts"
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", src, out, "--effort", effort, "--json", "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [k for k, _ in _streams(out)] == ["video", "audio"] and _streams(out)[1][1] == "mp2"
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 50


def test_mpeg_ts_carries_h264_and_hevc_only(tmp_path):
    from jndenc.errors import UserError
    from jndenc.output import check_container
    check_container(tmp_path / "o.ts", "x265")
    with pytest.raises(UserError, match="MPEG-TS carries H.264 or HEVC"):
        check_container(tmp_path / "o.ts", "av1")


def test_the_loop_keeps_an_mp4s_cover_art_as_a_picture(tmp_path):
    """A podcast's or a music video's picture (an MP4 cover, attached_pic) stays in an MP4 output, after the
    encoded video and marked as a picture; it was left out of every output."""
    from jndenc.media.probe import is_cover

    ffmpeg("-f", "lavfi", "-i", "color=red:size=64x64", "-frames:v", "1", str(tmp_path / "cover.png"))
    src = tmp_path / "in.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-f", "lavfi", "-i", "sine=duration=1",
           "-i", str(tmp_path / "cover.png"), "-map", "0:v", "-map", "1:a", "-map", "2:v", "-c:v:0", "libx264",
           "-c:v:1", "png", "-disposition:v:1", "attached_pic", "-c:a", "aac", str(src))
    for out, kept in ((tmp_path / "o.mp4", True), (tmp_path / "o.mkv", False)):
        r = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src), str(out), "--json", "-q"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        d = json.loads(r.stdout)
        assert d["frames"] == 25
        assert any(n.startswith("cover art") for n in d["notes"]) != kept
        with av.open(str(out)) as c:
            assert [(s.type, is_cover(s)) for s in c.streams] == \
                [("video", False), ("audio", False)] + [("video", True)] * kept
            if kept:
                assert c.streams.video[1].codec_context.name == "png"


def test_the_loop_keeps_the_video_streams_own_tags_and_timecode(tmp_path):
    """A one-pass encode keeps the source video stream's tags; the loop's output (its video copied from the joined
    segments) dropped them: a camera's or an edit's start timecode (MOV's timecode track), the track's language
    and title. The source encoder's name is not carried: it names another encoder."""
    mov, mkv = tmp_path / "in.mov", tmp_path / "in.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264", "-timecode",
           "01:00:00:00", str(mov))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx265", "-metadata:s:v:0",
           "language=fra", "-metadata:s:v:0", "title=Main", "-metadata:s:v:0", "BPS=123",
           "-metadata:s:v:0", "NUMBER_OF_FRAMES=7", str(mkv))
    for src, out, extra in ((mov, tmp_path / "o.mov", []), (mkv, tmp_path / "o.mkv", []),
                            (mkv, tmp_path / "fast.mkv", ["--effort", "fast"])):
        r = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src), str(out), "-q", *extra],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "o.mov")) as c:
        assert c.streams.video[0].metadata.get("timecode") == "01:00:00:00"
        assert [s.type for s in c.streams] == ["video", "data"]  # MOV's timecode track
    with av.open(str(tmp_path / "o.mkv")) as c:
        tags = {k.lower(): v for k, v in c.streams.video[0].metadata.items()}
        assert c.streams.video[0].language == "fra" and tags.get("title") == "Main"
        assert "libx265" not in tags.get("encoder", "")
        # mkvmerge's statistics describe the source's encode, not this one
        assert tags.get("bps") != "123" and tags.get("number_of_frames") != "7"
    with av.open(str(tmp_path / "fast.mkv")) as c:  # one pass: FFmpeg copied every tag, the statistics too
        tags = {k.lower(): v for k, v in c.streams.video[0].metadata.items()}
        assert c.streams.video[0].language == "fra" and tags.get("title") == "Main"
        assert "bps" not in tags and "number_of_frames" not in tags
