"""`--report FILE.html`: one static page per encode (no server, no network, images inline).

A thumbnail per shot (its middle frame, from the output), the CRF it got, its measured VMAF against the target
band, and the bytes and time beside a plain fixed-CRF encode where `--compare-crf` measured one. `page` is pure
(a result dict and thumbnails in, HTML out); `thumbnails` and `write` do the I/O.
"""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np

from .fileio import write_text_atomic
from .media.ffargs import vmaf_label
from .media.segments import codec_name

THUMB_WIDTH = 192

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.4em;margin:0 0 .2em}table{border-collapse:collapse;margin-top:1em}
td,th{padding:.35em .6em;border-bottom:1px solid #ddd;text-align:right;vertical-align:middle}
th{background:#f4f4f4}td.l,th.l{text-align:left}img{display:block;border-radius:3px}
.bar{position:relative;width:220px;height:14px;background:#eee;border-radius:3px}
.band{position:absolute;top:0;height:14px;background:#cfe8cf}
.tick{position:absolute;top:-3px;width:3px;height:20px;border-radius:1px}
.ok{background:#2a7d2a}.low{background:#c0392b}.high{background:#d68910}
.summary td{border:none;padding:.15em .8em .15em 0;text-align:left}
.note{color:#555;margin:.2em 0}
"""


def thumbnails(path: str | os.PathLike, shots: Sequence[tuple[int, int]], width: int = THUMB_WIDTH) -> list[bytes]:
    """PNG bytes of each shot's middle frame of ``path`` (decoded once, in order)."""
    want = {(a + b - 1) // 2: i for i, (a, b) in enumerate(shots)}
    out: list[bytes] = [b""] * len(shots)
    with av.open(str(path)) as c:
        for n, frame in enumerate(c.decode(video=0)):
            if n in want:
                img = frame.to_ndarray(format="bgr24")
                h = max(1, round(img.shape[0] * width / img.shape[1]))
                ok, png = cv2.imencode(".png", cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA))
                out[want[n]] = png.tobytes() if ok else b""
            if n >= max(want):
                break
    return out


def _vmaf_bar(v: float | None, band: dict | None, lo: float = 85.0, hi: float = 100.0) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    pos = lambda x: 100 * (min(max(x, lo), hi) - lo) / (hi - lo)  # noqa: E731
    inner = ""
    cls = "ok"
    if band:
        inner = f'<div class="band" style="left:{pos(band["low"]):.1f}%;width:{pos(band["high"]) - pos(band["low"]):.1f}%"></div>'
        cls = "low" if v < band["low"] else "high" if v > band["high"] else "ok"
    return (f'<div class="bar" title="{v:.2f}">{inner}<div class="tick {cls}" style="left:{pos(v):.1f}%"></div>'
            f"</div>")


def _saving(pct: float) -> str:
    # a negative saving read "-31.4% fewer video bytes"
    return f"{pct:.1f}% fewer video bytes" if pct >= 0 else f"{-pct:.1f}% more video bytes"


# per shot, added up over shots that may have run side by side: not wall time, so apart from the phases
_SUMMED = ("first_attempts", "extra_attempts")


def _cost_line(cost: dict) -> str:
    """The phases' wall time, then the attempts' own time added up over shots (more than the wall time when shots
    ran side by side)."""
    phases = ", ".join(f"{k.replace('_', ' ')} {v['wall_s']:.1f}s" for k, v in cost.items()
                       if "wall_s" in v and k not in _SUMMED and k != "total")
    total = cost.get("total", {}).get("wall_s")
    line = (f"{total:.1f}s ({phases})" if total is not None else phases)
    summed = [f"{k.replace('_', ' ')} {cost[k]['wall_s']:.1f}s" for k in _SUMMED if k in cost]
    return line + (f"; added up over shots: {', '.join(summed)}" if summed else "")


def page(result: dict, thumbs: Sequence[bytes]) -> str:
    """The report of one `jndenc.encode` result (its ``to_dict()``) as a self-contained HTML page."""
    e = html.escape
    d = result
    band = (d.get("loop") or {}).get("band")
    target = d.get("verify", {}).get("target_vmaf") if d.get("verify") else None
    floor_only = band is None and target is not None  # a one-pass encode measured: a floor, no upper edge
    if floor_only:
        band = {"low": target - 0.5, "high": target + 100}
    rows = []
    cmp_shots = (d.get("compare") or {}).get("shots") or []
    for i, s in enumerate(d["shots"]):
        v = (s.get("vmaf") or {}).get("mean")
        img = (f'<img alt="shot {i}" src="data:image/png;base64,{base64.b64encode(thumbs[i]).decode()}">'
               if i < len(thumbs) and thumbs[i] else "")
        att = s.get("attempts")
        tries = ", ".join(f"{a['crf']:g}&rarr;{a['vmaf']:.1f}" for a in att) if att else ""
        plain = cmp_shots[i]["vmaf"]["mean"] if i < len(cmp_shots) else None
        rows.append(
            f"<tr><td>{i}</td><td>{img}</td><td>{s['start_frame']}&ndash;{s['end_frame'] - 1}</td>"
            f"<td>{s['crf']:g}</td><td>{'-' if v is None else f'{v:.2f}'}</td><td>{_vmaf_bar(v, band)}</td>"
            f"<td class=l>{e(s.get('outcome', ''))}</td><td class=l>{tries}</td>"
            + (f"<td>{'-' if plain is None else f'{plain:.2f}'}</td>" if cmp_shots else "") + "</tr>")
    summary = [("input", e(d["input"])), ("output", e(d["output"])),
               ("recipe", e(f"{d.get('effort') or d['mode']}, {codec_name(d['codec'], d.get('encoder'))} "
                            f"{d['preset']}")),
               ("size", f"{d['bytes'] / 1e6:.2f} MB, {d['bitrate_kbps']:.0f} kb/s, {d['frames']} frames")]
    # every VMAF on the page is this model's (`--vmaf-model`); said where it is not the default
    vmaf = e(vmaf_label(d.get("vmaf_model")))
    if floor_only:  # its band's upper edge is only where the bar stops: it showed as "93.50 - 194.00 VMAF"
        summary.append(("target band", f"{band['low']:.2f} {vmaf} or above"))
    elif band:
        summary.append(("target band", f"{band['low']:.2f} &ndash; {band['high']:.2f} {vmaf}"))
    c = d.get("compare")
    if c:
        saving = c.get("saving_pct")
        summary.append((f"vs plain crf {c['crf']:g}",
                        f"{'n/a' if saving is None else _saving(saving)} "
                        f"({c['jndenc_video_bytes'] / 1e6:.2f} vs {c['video_bytes'] / 1e6:.2f} MB), "
                        f"{c['jndenc_time_ratio']:.2f}x its encode time"))
    cost = d.get("cost") or {}
    if cost:
        summary.append(("time", _cost_line(cost)))
    else:
        summary.append(("time", ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in d["timings"].items())))
    loop = d.get("loop")
    if loop:
        summary.append(("encodes", f"{loop['attempts']} for {len(d['shots'])} shot(s), "
                                   f"{loop['encoded_over_output_frames']:.2f}x the output's frames"))
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in d.get("notes", []))
    head = ("<tr><th>shot</th><th>frame</th><th>frames (first&ndash;last)</th><th>CRF</th><th>VMAF</th>"
            "<th>against the band (85&ndash;100)</th><th class=l>outcome</th><th class=l>attempts (CRF&rarr;VMAF)</th>"
            + ("<th>plain VMAF</th>" if cmp_shots else "") + "</tr>")  # a column only where --compare-crf filled it
    return (f"<!doctype html><html><head><meta charset=utf-8><title>jndenc: {e(Path(d['output']).name)}</title>"
            f"<style>{_CSS}</style></head><body><h1>jndenc report: {e(Path(d['output']).name)}</h1>"
            f"<table class=summary>{''.join(f'<tr><td><b>{k}</b></td><td>{v}</td></tr>' for k, v in summary)}"
            f"</table>{notes}<table>{head}{''.join(rows)}</table></body></html>\n")


def write(result, path: str | os.PathLike) -> Path:
    """Write ``result``'s report (thumbnails from its output) to ``path``, atomically."""
    d = result.to_dict()
    thumbs = thumbnails(d["output"], [(s["start_frame"], s["end_frame"]) for s in d["shots"]])
    return write_text_atomic(path, page(d, thumbs))
