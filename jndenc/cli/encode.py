"""`jndenc encode IN OUT`."""
from __future__ import annotations

import json

import click

from ..errors import OverSize
from ..media.ffargs import VMAF_MODEL, VMAF_MODELS
from ..media.segments import ENCODER_CHOICES
from ..options import EncodeOptions
from .common import Sectioned, debug_option
from .options import MODE_HELP, NAMES, plan_kwargs, plan_options, search_options
from .report import print_result


SECTIONS = (
    ("Options", ["effort", "target_jnd", "target_vmaf", "codec", "preset", "as_json", "report", "verify", "overwrite",
                 "quiet", "help"]),
    ("The shot loop (balanced, thorough)", ["vmaf_model", "encoder", "jobs", "dask", "resume", "learn", "min_crf", "max_crf"]),
    ("Expert: one-pass modes instead of an effort level", ["mode", "crf", "margin", "confidence", "ensure", "tighten",
                                                          "granularity", "plan_in", "plan_out"]),
    ("Search and guided modes", ["thresholds", "metric", "pool", "workers", "trial_seconds", "crf_step",
                                 "max_trials", "guided_start", "trial_cache"]),
    ("Shot detection and the model", ["max_shot_seconds", "detector", "scene_threshold", "sample_every", "weights",
                                      "calibration"]),
    ("Checks, comparison, plumbing", ["enc", "validate", "max_size", "compare_crf", "threads", "debug"]),
)


@click.command(cls=Sectioned, sections=SECTIONS)
@click.argument("src", metavar="IN", type=click.Path(dir_okay=True))
@click.argument("dst", metavar="OUT", type=click.Path(dir_okay=True))
@click.option("--effort", type=click.Choice(["fast", "balanced", "thorough"]), default=None,
              help="fast: one pass at probe mode's estimate (1 s probe encodes per shot), the output not "
                   "measured; balanced (default): each shot re-encoded until measured within -0.3/+1 VMAF of the "
                   "target; thorough: +0.5, every frame scored.")
@click.option("--target-vmaf", type=click.FloatRange(20, 100), default=None, metavar="V",
              help="Aim every shot at this VMAF instead of --target-jnd's (balanced and thorough).")
@click.option("--vmaf-model", type=click.Choice(VMAF_MODELS), default=VMAF_MODEL, show_default=True,
              help="The libvmaf model every shot is measured with (balanced and thorough; --verify, which a "
                   "one-pass encode needs for it): neg leaves "
                   "out the gain of sharpening or contrast boosts, 4k scores for a 4K TV at 1.5 picture heights.")
@click.option("--enc", multiple=True, metavar="KEY=VALUE",
              help="An encoder option of your own, repeatable: -KEY VALUE in every encode (e.g. --enc "
                   "profile:v=high --enc level=4.1 --enc g=48 --enc maxrate=6M --enc bufsize=12M, or --enc "
                   "x264-params=aq-mode=3, added to jndenc's own). The quality knob, encoder, preset and threads are "
                   "jndenc's.")
@click.option("--encoder", type=click.Choice(ENCODER_CHOICES["av1"]), default=None,
              help="The FFmpeg encoder of --codec av1 [default: libsvtav1].")
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="Shots encoded at once (balanced, thorough), or probed at once (fast, --mode probe) [default: "
                   "the available cores, as many as the free memory holds]; the output is the same whatever the "
                   "number.")
@click.option("--dask", metavar="ADDRESS", default=None,
              help="Encode and measure the shots on the workers of this Dask scheduler (IN and OUT's folder at the "
                   "same paths there); the join runs here. The output is the same as a local run's.")
@click.option("--resume", is_flag=True,
              help="Keep the shots finished when the encode stops (error, Ctrl-C) in a .jndenc-resume-* folder "
                   "beside OUT, and take them from there when run again with --resume and the same input and "
                   "options; the output is the one an uninterrupted run writes.")
@click.option("--learn", "learn_file", type=click.Path(dir_okay=False), default=None, metavar="FILE.json",
              help="Start from what the files encoded with the same FILE taught (as `jndenc batch` does), then add "
                   "this file's shots to it.")
@click.option("--learn-source", metavar="NAME", default=None,
              help="With --learn: this file is of source NAME (a series): it starts from what NAME's files taught, "
                   "shrunk toward the FILE's other sources, as a batch learns each folder.")
@click.option("--mode", type=click.Choice(NAMES), default=None,
              help="Expert: one-pass recipes instead of an effort level. " + MODE_HELP)
@click.option("--crf", type=click.FloatRange(0, 51), default=None, help="Fixed CRF everywhere (the baseline).")
@plan_options
@search_options
@click.option("--plan", "plan_in", type=click.Path(dir_okay=False), default=None, help="Replay a saved plan JSON.")
@click.option("--plan-out", type=click.Path(dir_okay=False), default=None, help="Save the plan as JSON.")
@click.option("--verify/--no-verify", default=None,
              help="Measure the finished file's VMAF per shot once more [default: on in guided/search].")
@click.option("--ensure", is_flag=True,
              help="Re-encode once, at a lower CRF, shots that missed the target by more than 0.5 VMAF.")
@click.option("--tighten", is_flag=True,
              help="--ensure, and in the same re-encode raise the CRF of shots measured above the target "
                   "(by their headroom: fewer bytes); one more re-encode only where that left a shot below; keeps "
                   "the pass with the fewest shots below the target.")
@click.option("--validate", "validate", type=click.Choice(["fast", "full"]), default="fast", show_default=True,
              help="Check of OUT before it is renamed into place: fast counts its frames from the container and "
                   "decodes the last GOP; full decodes every frame.")
@click.option("--compare-crf", type=click.FloatRange(0, 51), default=None, metavar="CRF",
              help="Also encode IN the plain way at this fixed CRF (same codec and preset; a temp file, deleted) and "
                   "report its bytes, time and, with --verify, per-shot VMAF beside jndenc's.")
@click.option("--max-size", type=click.FloatRange(1, 1000), default=None, metavar="PCT",
              help="Write OUT only if its video takes at most PCT percent of IN's video stream; otherwise write "
                   "nothing and exit 4 (keep the source: it is already that small).")
@click.option("-y", "--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("--threads", type=click.IntRange(0), default=None, help="FFmpeg encoder threads (default: auto).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or table.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the result) on stdout.")
@click.option("--report", type=click.Path(dir_okay=False), default=None, metavar="FILE.html",
              help="Write a static page: per shot a thumbnail, CRF and VMAF; bytes and time.")
@debug_option
def encode(src, dst, effort, target_vmaf, vmaf_model, enc, encoder, jobs, dask, resume, learn_file, learn_source, mode, crf, plan_in, plan_out, verify, ensure, tighten, validate, max_size, compare_crf, overwrite, threads, quiet,
           as_json, report, debug, **kw):
    """Encode IN to OUT at the CRF each shot needs to stay at the target (JND1 = VMAF 94)."""
    from ..encode import encode as run
    from ..output import check_side_file

    for path, option in ((report, "--report"), (learn_file, "--learn")):
        if path is not None:
            check_side_file(path, option)
    learned = None
    if learn_source is not None and learn_file is None:
        raise click.UsageError("--learn-source names the source within a --learn FILE.json: give --learn too")
    if learn_file is not None:
        from ..learn import load

        learner = load(learn_file)
        learner.check_model(vmaf_model)
        learned = learner.offset(learn_source)
    options = EncodeOptions.from_kwargs(
        start_offset=learned, plan=plan_in, plan_out=plan_out, overwrite=overwrite, quiet=quiet or as_json,
        threads=threads, mode=mode, crf=crf, verify=verify, ensure=ensure, tighten=tighten, validate=validate,
        compare_crf=compare_crf, max_size=max_size, effort=effort, target_vmaf=target_vmaf, vmaf_model=vmaf_model, jobs=jobs, dask=dask, encoder=encoder,
        resume=resume, enc=enc, **plan_kwargs(kw))
    try:
        result = run(src, dst, options)
    except OverSize as exc:  # exit 4 is an answer, not a failure: a pipeline reads its figures
        if as_json:
            click.echo(json.dumps(exc.to_dict()))
        raise
    if learn_file is not None and result.start is not None:
        from ..learn import append, labels_from

        append(learn_file, labels_from(result.start), vmaf_model, learn_source)
        result.start["source"] = learn_source  # which source's offset it took, as a learning batch's items say
    if report:
        from ..report import write

        write(result, report)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    elif not quiet:
        print_result(result)
