"""Human-readable tables for the terminal."""
from __future__ import annotations

import click

from ..media.ffargs import vmaf_label


def print_shots(shots, fps: float) -> None:
    vmaf = any("vmaf" in s for s in shots)
    head = f"{'shot':>4} {'frames':>13} {'start':>8} {'JND1':>6} {'JND2':>6} {'JND3':>6} {'CRF':>6}"
    click.echo(head + (f" {'VMAF':>6} {'p5':>6}" if vmaf else ""))
    for i, s in enumerate(shots):
        jnd = s.get("jnd") or [None] * 3
        cells = " ".join(f"{j:6.1f}" if j is not None else f"{'-':>6}" for j in jnd)
        crf = s.get("crf")
        crf_s = f"{crf:6g}" if crf is not None else f"{'-':>6}"
        line = f"{i:4d} {s['start_frame']:>6}-{s['end_frame']:<6} {s['start_frame'] / fps:7.2f}s {cells} {crf_s}"
        if vmaf:
            q = s.get("vmaf") or {}
            line += f" {q.get('mean', float('nan')):6.2f} {q.get('p5', float('nan')):6.2f}"
        click.echo(line)


def print_result(result) -> None:
    d = result.to_dict()
    print_shots(d["shots"], result.plan.fps)
    t = d["timings"]
    from ..media.segments import codec_name

    codec = codec_name(d["codec"], d.get("encoder"))
    click.echo(f"{d['output']}: {d['frames']} frames, {d['bytes'] / 1e6:.2f} MB, {d['bitrate_kbps']:.0f} kb/s "
               f"({d.get('effort') or d['mode']}, {codec} {d['preset']}, model {d['model'] or '-'}); "
               f"analysis {t['analysis_s']:.1f}s, encode {t['encode_s']:.1f}s")
    lp = d.get("loop")
    vmaf = vmaf_label(d.get("vmaf_model"))
    if lp:
        sh = lp["shots"]
        click.echo(f"{d['effort']}: {lp['attempts']} encodes for {len(d['shots'])} shot(s) "
                   f"({lp['encoded_over_output_frames']:.2f}x the output's frames); band {lp['band']['low']:.2f}-"
                   f"{lp['band']['high']:.2f} {vmaf}: {sh['in_band']} in it, {sh['clamped']} above at the max CRF, "
                   f"{sh['above']} above, {sh['below']} below")
    if d.get("trial_encodes"):
        click.echo(f"{d['mode']}: {d['trial_encodes']} trial encodes ({d['trial_encodes'] / len(d['shots']):.1f} a shot)")
    v = d.get("verify")
    if v:
        click.echo(f"{'measured' if lp and 'verify_s' not in t else 'verify'}: worst shot {v['worst_shot']} {vmaf} {v['worst_shot_vmaf']:.2f} (p5 {v['worst_shot_p5']:.2f}), "
                   f"target {v['target_vmaf']:g}; {v['shots_below_target']} shot(s) more than 0.5 below"
                   + (f"; {t['verify_s']:.1f}s" if "verify_s" in t else ""))
    if d.get("passes"):
        click.echo("passes: " + "; ".join(
            f"{i + 1}: {p['bytes'] / 1e6:.2f} MB, worst shot {p['worst_shot_vmaf']:.2f}, "
            f"{p['shots_below_target']} below" + (" (kept)" if p.get("kept") else "")
            for i, p in enumerate(d["passes"])))
    c = d.get("compare")
    if c:
        saving = c["saving_pct"]
        line = (f"vs plain {c['codec']} {c['preset']} crf {c['crf']:g}: jndenc "
                f"{'n/a' if saving is None else f'{-saving:+.1f}%'} video bytes "
                f"({c['jndenc_video_bytes'] / 1e6:.2f} vs {c['video_bytes'] / 1e6:.2f} MB) in "
                f"{c['jndenc_time_ratio']:.2f}x its encode time")
        cv = c.get("verify")
        if cv:
            line += (f"; plain's worst shot {cv['worst_shot']} VMAF {cv['worst_shot_vmaf']:.2f} "
                     f"({cv['shots_below_target']} shot(s) more than 0.5 below {cv['target_vmaf']:g})")
        click.echo(line)
    for n in d["notes"]:
        click.echo(f"note: {n}")
