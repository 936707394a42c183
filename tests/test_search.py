"""The oracle search on a real (generated) clip with real trial encodes and VMAF."""
import pytest

from jndenc.analyze import analyze
from jndenc.encode import encode
from jndenc.media.quality import compare
from jndenc.search import SearchOptions, _bracket, search


def test_bracket_finds_threshold_crossing():
    score = lambda c: 100 - 2 * c  # >= 40 up to CRF 30
    calls = []
    f = lambda c: calls.append(c) or score(c)
    lo, hi = _bracket(f, 40, 23, 10, 51)
    assert score(lo) >= 40 > score(hi) and hi - lo <= 6
    assert _bracket(score, 200, 23, 10, 51) == (10, 11)
    assert _bracket(score, -200, 23, 10, 51) == (51, 52)


def test_search_labels_monotone_and_meet_thresholds(cut_clip):
    shots = analyze(cut_clip).shots
    opts = SearchOptions(preset="ultrafast", thresholds=(90.0, 75.0, 60.0))
    res = search(cut_clip, shots, opts)
    assert len(res) == 3
    for r in res:
        assert r.jnd == sorted(r.jnd)
        by_crf = {t.crf: t.score for t in r.trials}
        for j, t in zip(r.jnd, opts.thresholds):
            if j < opts.max_crf:
                assert by_crf[j] >= t  # the label passes...
                if j + 1 in by_crf:
                    assert by_crf[j + 1] < t  # ...and is the largest that does
    # the noisy third shot needs finer quantisation than the smooth testsrc2 shot
    assert res[2].jnd[0] < res[0].jnd[0]


def test_vmaf_identity_and_degradation(cut_clip, tmp_path):
    q = compare(cut_clip, cut_clip)
    assert q.pool("vmaf") > 97 and q.pool("psnr") >= 59.9 and q.pool("ssim") > 0.99
    bad = tmp_path / "bad.mp4"
    encode(cut_clip, bad, crf=45, preset="ultrafast")
    qb = compare(bad, cut_clip)
    assert qb.pool("vmaf") < q.pool("vmaf") - 10 and len(qb.frames["vmaf"]) == 150
    assert qb.pool("vmaf", "p5") <= qb.pool("vmaf")


@pytest.mark.slow
def test_search_mode_on_real_clip_meets_jnd1(shared_clips, tmp_path):
    src = shared_clips / "short_hamilton_clip.mp4"
    out = tmp_path / "s.mp4"
    r = encode(src, out, mode="search")
    base = encode(src, tmp_path / "c18.mp4", crf=18)
    assert r.bytes < base.bytes
    for s in r.plan.shots:
        q = compare(out, src, ref_range=None)
        v = q.frames["vmaf"][s.start_frame:s.end_frame].mean()
        assert v >= 94.0 - 0.5, (s, v)
