"""`jndenc train` and `jndenc test`: the MTJND scripts' command lines over jndenc.train.

Both spellings of each option work (`--data_dir` as in the seed README, and
`--data-dir`).
"""
from __future__ import annotations

import re
from pathlib import Path

import click

from ..errors import UserError
from .common import debug_option

MODEL_NAMES = ["MT_3LJND", "MT_1LJND_VA", "MT_3LJND_VA", "compact"]


def _opt(name: str, *args, **kwargs):
    """An option accepting both `--snake_case` and `--dashed-case`."""
    snake, dashed = name.replace("-", "_"), name.replace("_", "-")
    names = [f"--{snake}"] + ([f"--{dashed}"] if dashed != snake else [])
    return click.option(*names, snake, *args, **kwargs)


def _parse_size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
    if not m:
        raise UserError(f"--input-size must be HEIGHTxWIDTH (e.g. 144x256), not {value!r}")
    return int(m.group(1)), int(m.group(2))


_model = click.option("--model", "model", type=click.Choice(MODEL_NAMES), default="MT_3LJND", show_default=True,
                      help="Architecture.")
_column = _opt("jnd_column", type=click.IntRange(0, 2), default=None,
               help="JND level for single-head models (0=JND1, 1=JND2, 2=JND3).")


@click.command("train")
@_model
@_opt("data_dir", required=True, type=click.Path(), help="Folder holding train/, valid/ (and test/).")
@_opt("checkpoint_path", required=True, type=click.Path(), help="Best-val_loss weights: .h5 (by layer name) or .keras.")
@_opt("csv_log_path", type=click.Path(), default=None, help="Per-epoch CSV log (';' separated).")
@_opt("epochs", type=click.IntRange(min=1), default=500, show_default=True)
@_opt("batch_size", type=click.IntRange(min=1), default=8, show_default=True)
@_opt("learning_rate", type=float, default=1e-5, show_default=True)
@_column
@_opt("seed", type=int, default=None, help="Seed Python, numpy and TensorFlow.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint (and CSV log).")
@_opt("early_stopping", type=click.IntRange(min=1), default=None, metavar="PATIENCE",
      help="Stop after PATIENCE epochs without val_loss improvement.")
@click.option("--augment", is_flag=True, help="Random horizontal flip and crop jitter.")
@_opt("input_size", default=None, metavar="HxW", help="Override the model input size, e.g. 64x112.")
@_opt("backbone_weights", default=None, metavar="imagenet|FILE",
      help="VGG16 initialisation: 'imagenet' (from the Keras cache, never downloaded) or a weights file.")
@_opt("linear_only", is_flag=True,
      help="compact only: keep the closed-form linear fit (SI, TI, source size) and train no CNN correction.")
@click.option("-q", "--quiet", is_flag=True, help="No per-epoch lines: only the result.")
@debug_option
def train(model, data_dir, checkpoint_path, csv_log_path, epochs, batch_size, learning_rate, jnd_column, seed,
          resume, early_stopping, augment, input_size, backbone_weights, linear_only, quiet, debug) -> None:
    """Train a JND model on a seed-layout dataset (MTJND's `train`)."""
    from ..models.tfquiet import import_quietly
    from ..output import check_not_an_input
    from ..training import train as T

    splits = [Path(data_dir) / s for s in ("train", "valid", "test")]
    check_not_an_input(checkpoint_path, splits, "--checkpoint_path")
    if csv_log_path is not None:  # over the labels, or over the checkpoint it logs
        check_not_an_input(csv_log_path, splits, "--csv_log_path")
        if Path(csv_log_path).resolve() == Path(checkpoint_path).resolve():
            raise UserError(f"--csv_log_path {csv_log_path} is the --checkpoint_path: the log would replace the "
                            "weights; give it a name of its own")
    import_quietly()

    res = T.fit(model, data_dir, checkpoint_path, csv_log_path=csv_log_path, epochs=epochs, batch_size=batch_size,
                learning_rate=learning_rate, jnd_column=jnd_column, seed=seed, resume=resume,
                early_stopping=early_stopping, input_shape=_parse_size(input_size), augment=augment,
                backbone_weights=backbone_weights, linear_only=linear_only,
                echo=(lambda m: None) if quiet else (lambda m: click.echo(m, err=True)), verbose=0 if quiet else 2)
    best, epoch = res["best_val_loss"], res["best_epoch"]
    if epoch is None:  # a resumed run that never beat its checkpoint printed "at epoch None"
        kept = f" (val_loss {best:.4f}) kept" if best is not None else ""
        click.echo(f"no checkpoint improvement; {res['checkpoint']}{kept}; run: {res['run_json']}")
    else:
        where = "the linear start" if epoch == -1 else f"epoch {epoch}"
        click.echo(f"best val_loss {best:.4f} at {where}; weights: {res['checkpoint']}; run: {res['run_json']}")


@click.command("test")
@click.option("--model", "model", type=click.Choice(MODEL_NAMES), default=None,
              help="Architecture [default: the one the weights' sidecar names, else MT_3LJND].")
@_opt("data_dir", required=True, type=click.Path(), help="Folder holding test/ (or --split).")
@_opt("model_weights_path", required=True, type=click.Path(), help="Weights (.h5 or .keras).")
@_opt("result_path", required=True, type=click.Path(), help="CSV of predictions to write.")
@_column
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "valid", "test"]))
@debug_option
def test(model, data_dir, model_weights_path, result_path, jnd_column, split, debug) -> None:
    """Predict JND levels for every image of a split and write a CSV (MTJND's `test`)."""
    from ..models.tfquiet import import_quietly
    from ..output import check_not_an_input
    from ..training import evaluate as E

    check_not_an_input(result_path, [Path(data_dir) / split, model_weights_path, f"{model_weights_path}.json"],
                       "--result_path")
    import_quietly()
    if model is None:  # the paper's test commands name no model: the weights' own record does
        from ..models.io import read_metadata

        model = (read_metadata(model_weights_path) or {}).get("architecture") or "MT_3LJND"
    res = E.evaluate(model, data_dir, model_weights_path, result_path, jnd_column=jnd_column, split=split,
                     echo=click.echo)
    click.echo(f"wrote {res['rows']} rows to {res['result_path']}")
