"""Human-readable tables for the terminal."""
from __future__ import annotations

import click


def print_shots(shots, fps: float) -> None:
    click.echo(f"{'shot':>4} {'frames':>13} {'start':>8} {'JND1':>6} {'JND2':>6} {'JND3':>6} {'CRF':>5}")
    for i, s in enumerate(shots):
        jnd = s.get("jnd") or [None] * 3
        cells = " ".join(f"{j:6.1f}" if j is not None else f"{'-':>6}" for j in jnd)
        crf = s.get("crf")
        crf_s = f"{crf:5g}" if crf is not None else f"{'-':>5}"
        click.echo(f"{i:4d} {s['start_frame']:>6}-{s['end_frame']:<6} {s['start_frame'] / fps:7.2f}s {cells} {crf_s}")


def print_result(result) -> None:
    d = result.to_dict()
    print_shots(d["shots"], result.plan.fps)
    t = d["timings"]
    click.echo(f"{d['output']}: {d['frames']} frames, {d['bytes'] / 1e6:.2f} MB, {d['bitrate_kbps']:.0f} kb/s "
               f"({d['mode']}, {d['codec']} {d['preset']}, model {d['model'] or '-'}); "
               f"analysis {t['analysis_s']:.1f}s, encode {t['encode_s']:.1f}s")
    if d.get("trial_encodes"):
        click.echo(f"search: {d['trial_encodes']} trial encodes")
    for n in d["notes"]:
        click.echo(f"note: {n}")
