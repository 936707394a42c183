"""`jndenc batch INPUT_DIR_OR_MANIFEST OUTPUT_DIR`."""
from __future__ import annotations

import json

import click

from ..media.ffargs import VMAF_MODEL, VMAF_MODELS, vmaf_label
from ..media.segments import ENCODER_CHOICES
from ..output import CONTAINERS, human_bytes
from .common import debug_option
from .options import MODE_HELP, NAMES, plan_kwargs, plan_options, search_options

EXIT_ITEMS_FAILED = 3  # distinct from 2 (bad usage/input) so pipelines can tell "some files failed"


def _print_summary(s: dict) -> None:
    over = f", not written (over --max-size) {len(s['over_size'])}" if s.get("over_size") else ""
    click.echo(f"items   {s['items']:>6}   done {s['done']} (encoded {s['encoded_this_run']}, skipped "
               f"{s['skipped_this_run']}, adopted {s['adopted_this_run']}){over}, failed {s['failed']}")
    # the inputs are whatever the user had (often near-lossless masters): their size is no baseline for a saving;
    # --compare-crf measures the saving against the plain encode the user would otherwise run
    hint = "" if s.get("compare") or s.get("not_measured") else "; --compare-crf CRF for a saving against a plain encode"
    ratio = (f"  (outputs are {100 * s['output_bytes'] / s['input_bytes']:.1f}% of the inputs' size{hint})"
             if s["input_bytes"] else "")
    click.echo(f"bytes   in {human_bytes(s['input_bytes'])}, out {human_bytes(s['output_bytes'])}{ratio}")
    rate = ""
    if s["files_per_min"] is not None:
        rate = f"  ({s['files_per_min']:.1f} files/min, {s['realtime_factor']:.2f}x realtime)"
    click.echo(f"wall    {s['wall_s']:.1f} s on {s['executor']}, {s['threads']} FFmpeg thread(s)/encode{rate}")
    if s.get("worst_shot_vmaf") is not None:
        click.echo(f"quality worst shot {vmaf_label(s.get('vmaf_model'))} {s['worst_shot_vmaf']:.2f} in {s['worst_shot_item']} "
                   f"({s['verified_items']} verified on the output, {s.get('loop_measured_items', 0)} measured by "
                   f"the shot loop, {s['items_with_shots_below_target']} with shots below target)")
    if s.get("corrected_items"):
        first, out = s["corrected_first_pass_bytes"], s["corrected_output_bytes"]
        click.echo(f"passes  {s['corrected_items']} item(s) re-encoded by --ensure/--tighten "
                   f"({s['corrective_encodes']} extra encode(s)): {human_bytes(first)} -> {human_bytes(out)} "
                   f"({100 * (out / first - 1):+.1f}% bytes against their first pass)")
    c = s.get("compare")
    if c:
        line = (f"compare plain crf {'/'.join(f'{x:g}' for x in c['crfs'])} on {c['items']} item(s): jndenc video "
                f"{human_bytes(c['jndenc_video_bytes'])} vs {human_bytes(c['video_bytes'])}")
        if c["saving_pct"] is not None:
            line += f" (saving {c['saving_pct']:.1f}%)"
        if c.get("worst_shot_vmaf") is not None:
            line += (f"; plain's worst shot {vmaf_label(c.get('vmaf_model'))} {c['worst_shot_vmaf']:.2f} in {c['worst_shot_item']} "
                     f"({c['items_with_shots_below_target']} item(s) with shots below target)")
        click.echo(line)
    lr = s.get("learning")
    if lr and lr["quarters"][0]["start_mae"] is not None and len(lr["quarters"]) > 1:  # one file: nothing to compare
        a, b = lr["quarters"][0], lr["quarters"][-1]
        span = "first vs last quarter" if len(lr["quarters"]) == 4 else f"first vs last of {len(lr['quarters'])} parts"
        by = f" of the same source ({lr['sources']} sources)" if lr.get("sources", 1) > 1 else ""
        click.echo(f"starts  error {a['start_mae']:.2f} -> {b['start_mae']:.2f} CRF (the model's own "
                   f"{a['model_mae']:.2f} -> {b['model_mae']:.2f}), attempts/shot {a['attempts_per_shot']:.2f} -> "
                   f"{b['attempts_per_shot']:.2f} ({span}; learned from earlier files{by}, --no-learn to turn off)")
    _print_failures(s)


def _print_failures(s: dict) -> None:
    for key, reason in (s.get("over_size") or {}).items():
        click.echo(f"kept    {key}: {reason}", err=True)
    for key, reason in s["failures"].items():
        click.echo(f"failed  {key}: {reason}", err=True)
    if s.get("not_measured"):
        asked = sorted({w for why in s["not_measured"].values() for w in why.split(", ")})
        click.echo(f"note    {len(s['not_measured'])} file(s) done by an earlier run were taken as they are, without "
                   f"{' or '.join(asked)} (they measure what a run encodes): -y encodes them again, or give another "
                   "OUTPUT_DIR", err=True)
    if s["not_retried_this_run"]:
        click.echo(f"note    {s['not_retried_this_run']} item(s) failed in an earlier run; --retry-failed retries them",
                   err=True)


@click.command()
@click.argument("source", metavar="INPUT_DIR_OR_MANIFEST", type=click.Path(exists=True))
@click.argument("output_dir", metavar="OUTPUT_DIR", type=click.Path(file_okay=False))
@click.option("--effort", type=click.Choice(["fast", "balanced", "thorough"]), default=None,
              help="As `jndenc encode --effort` [default: balanced, unless --mode, --crf, --ensure or --tighten].")
@click.option("--target-vmaf", type=click.FloatRange(20, 100), default=None, metavar="V",
              help="Aim every shot at this VMAF instead of --target-jnd's (balanced and thorough).")
@click.option("--vmaf-model", type=click.Choice(VMAF_MODELS), default=VMAF_MODEL, show_default=True,
              help="As `jndenc encode --vmaf-model`: the libvmaf model every shot is measured with.")
@click.option("--mode", type=click.Choice(NAMES), default=None,
              help="Expert: one-pass recipes instead of an effort level. " + MODE_HELP)
@click.option("--verify/--no-verify", default=None,
              help="Measure each output's VMAF per shot [default: on in guided/search]; the summary names the worst.")
@click.option("--ensure", is_flag=True, help="Re-encode once shots that missed the target by more than 0.5 VMAF.")
@click.option("--tighten", is_flag=True,
              help="--ensure, and raise the CRF of shots measured above the target (by their headroom) in the same "
                   "re-encode, settling once more where that left a shot below.")
@click.option("--crf", type=click.FloatRange(0, 51), default=None, help="Fixed CRF everywhere (the baseline).")
@click.option("--encoder", type=click.Choice(ENCODER_CHOICES["av1"]), default=None,
              help="The FFmpeg encoder of --codec av1 [default: libsvtav1].")
@click.option("--compare-crf", type=click.FloatRange(0, 51), default=None, metavar="CRF",
              help="Also encode each input the plain way at this fixed CRF (deleted after measuring); the summary "
                   "totals the video bytes saved and, with --verify, names the plain encodes' worst shot.")
@click.option("--max-size", type=click.FloatRange(1, 1000), default=None, metavar="PCT",
              help="Write an output only if its video takes at most PCT percent of its input's video stream; a file "
                   "that would not shrink that far is not written (status over_size; not a failure, not encoded "
                   "again for the same input and options).")
@plan_options
@search_options
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Files encoded at once, one process each. Default: cores // --threads "
                   "(with --threads defaulting to 2).")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="FFmpeg threads per encode. Default: 2, or cores // --jobs when --jobs is given.")
@click.option("--pattern", default=None, help="File-name glob for folder input (default: common video extensions).")
@click.option("-r", "--recursive", is_flag=True, help="Descend into subfolders; outputs mirror the tree.")
@click.option("--container", "--suffix", "container", type=click.Choice([c[1:] for c in CONTAINERS]), default="mp4",
              show_default=True, help="Output container (and file extension).")
@click.option("--dask", "dask_address", metavar="ADDRESS", default=None,
              help="Run on an existing Dask scheduler (tcp://host:port); paths must be shared by the workers.")
@click.option("--dask-local", type=click.IntRange(1), default=None, metavar="N",
              help="Start a local Dask cluster of N single-threaded worker processes.")
@click.option("--learn/--no-learn", default=True, show_default=True,
              help="Measured efforts: correct each file's first attempts by the shots measured in the files before "
                   "it, of its own source (its folder, or a manifest's source column) first.")
@click.option("--retry-failed", is_flag=True, help="Retry items an earlier run recorded as failed.")
@click.option("-y", "--overwrite", is_flag=True,
              help="Replace outputs this batch did not write (without it such a file fails, untouched).")
@click.option("--enc", multiple=True, metavar="KEY=VALUE",
              help="An encoder option of your own in every encode, repeatable (as `jndenc encode --enc`).")
@click.option("--resume/--no-resume", "resume_shots", default=True, show_default=True,
              help="Measured efforts: a file stopped part-way keeps its finished shots for the next run "
                   "(`jndenc encode --resume`); finished files are skipped either way.")
@click.option("--report", is_flag=True,
              help="Write each encoded file's page (as `jndenc encode --report`) under OUTPUT_DIR/.jndenc/reports/.")
@click.option("--dry-run", is_flag=True, help="Print what would be encoded or skipped; touch nothing.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON lines on stdout: one {\"type\": \"item\", ...} per file as it finishes, "
                   "then one {\"type\": \"summary\", ...}.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or table.")
@debug_option
def batch(source, output_dir, effort, target_vmaf, vmaf_model, mode, verify, ensure, tighten, crf, encoder, compare_crf, max_size, jobs,
          threads, pattern, recursive, container, dask_address, dask_local, learn, retry_failed, overwrite, enc,
          resume_shots, report, dry_run, as_json, quiet, debug, **kw):
    """Encode every video in a folder (or listed in a CSV/JSONL manifest) into OUTPUT_DIR.

    Resumable: a journal in OUTPUT_DIR/.jndenc/ lets a rerun skip finished
    files, redo ones a killed run left behind and (with --retry-failed) retry
    failures. A manifest has columns input,output plus optional per-row
    overrides: target_jnd, codec, encoder, preset, min_crf, max_crf, crf, margin, mode, effort;
    and source: the series a row's file learns its start with (default: its folder).
    The summary is also written to OUTPUT_DIR/.jndenc/summary.json.

    Exit codes: 0 all done (a file over --max-size is done: not written, the source kept), 3 some files failed,
    2 bad options or input, 130/143 interrupted.
    """
    from ..batch.runner import collect_items, run
    from ..effort import DEFAULT_EFFORT
    from ..media.segments import encoder_of

    if encoder is not None:  # a mistake is the whole batch's: said once, before anything is written
        encoder_of(kw.get("codec") or "x264", encoder)

    items = collect_items(source, output_dir, pattern=pattern, recursive=recursive, container=container)
    if not items:
        click.echo(f"jndenc: nothing to do: no matching files in {source}", err=True)
    options = plan_kwargs(kw)
    expert = mode is not None or crf is not None or ensure or tighten
    if effort is not None and expert:
        raise click.UsageError("--effort cannot be combined with --mode, --crf, --ensure or --tighten")
    if expert:
        options["mode"] = mode or "predict"
    else:
        options["effort"] = effort or DEFAULT_EFFORT
    if target_vmaf is not None:  # with an expert mode `checked` refuses it below, rather than drop it in silence
        options["target_vmaf"] = target_vmaf
    if vmaf_model != VMAF_MODEL:  # only when another: journals written before it keep their option fingerprint
        options["vmaf_model"] = vmaf_model
    if verify is not None:
        options["verify"] = verify
    if ensure:
        options["ensure"] = True
    if tighten:
        options["tighten"] = True
    if options.get("confidence") is None and expert and not tighten:
        # spelled out, so journals written before --tighten's own default existed keep their option fingerprint
        # (with --tighten each item's mode picks its level, `jndenc.verify.TIGHTEN_CONFIDENCE`)
        from ..planner import PlanOptions

        options["confidence"] = PlanOptions.confidence
    if crf is not None:
        options["crf"] = crf
    if compare_crf is not None:
        options["compare_crf"] = compare_crf
    if max_size is not None:  # only when given: journals written before --max-size keep their option fingerprint
        options["max_size"] = max_size
    if encoder is not None:  # only when given: journals written before --encoder keep their option fingerprint
        options["encoder"] = encoder
    if enc:  # the same: only when given
        from ..media.enc_params import check_for, parse

        check_for(parse(enc), encoder_of(kw.get("codec") or "x264", encoder))  # said once, before any work
        options["enc"] = list(enc)
    if resume_shots and options.get("effort") in ("balanced", "thorough"):
        options["resume"] = True
    results = run(items, output_dir, jobs=jobs, threads=threads, dask=dask_address, dask_local=dask_local,
                  retry_failed=retry_failed, dry_run=dry_run, quiet=quiet or as_json, report=report, learn=learn,
                  overwrite=overwrite, **options)
    for r in results:
        if as_json:
            click.echo(json.dumps({"type": "item", **r.to_dict()}))
        elif dry_run and not quiet:
            click.echo(f"{r.status:<12} {r.input} -> {r.output}" + (f"  ({r.reason})" if r.reason else ""))
    summary = results.summary
    if as_json:
        click.echo(json.dumps({"type": "summary", **summary}))
    elif not quiet and not dry_run:
        _print_summary(summary)
    elif not dry_run:
        _print_failures(summary)  # quiet drops the progress and the table, not errors: exit 3 said nothing
    elif dry_run and not quiet:
        n = summary.get("learning_sources") or 1
        click.echo(f"{summary['would-encode']} to encode, {summary['would-skip']} done already, "
                   f"{summary['would-fail']} failed earlier (--retry-failed retries them)"
                   + (f"; {n} sources (folders or manifest sources) would learn their starts apart" if n > 1 else ""))
    if not dry_run and summary["failed"]:
        raise click.exceptions.Exit(EXIT_ITEMS_FAILED)
