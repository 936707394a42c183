"""What `jndenc.batch.run` is given, checked at the call: arguments no batch can run with are said in one line there,
not journaled as every file's failure (or, worse, taken: ``overwrite="no"`` replaced a file the batch had not
written)."""
from __future__ import annotations

from ..errors import UserError
from .workers import failure_reason, item_encode_options

# per-file settings the batch makes itself: given once for every file, they were dropped or failed each file
_BATCH_OWN = (("learner", "the batch learns its files' starts itself (learn=True); a learner is jndenc.encode's, one "
                          "file at a time"),
              ("plan_out", "the batch writes each file's plan in OUTPUT_DIR/.jndenc/plans"),
              ("start_offset", "the batch's learning sets each file's (pass learn=False to give one)"))


def check_arguments(counts: dict, flags: dict, encode_options: dict) -> None:
    """``counts`` (jobs, threads, dask_local) whole numbers of 1 or more where given, ``flags`` True or False, none
    of the settings the batch makes per file among ``encode_options``, and those options ones `jndenc.encode` takes
    (`check_options`)."""
    for name, value in counts.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserError(f"{name} must be a whole number, 1 or more, not {value!r}")
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise UserError(f"{name} takes True or False, not {type(value).__name__} {value!r}")
    for name, why in _BATCH_OWN:
        if name in encode_options and (name != "start_offset" or flags.get("learn")):
            raise UserError(f"{name} cannot be given to a batch: {why}")
    # a combination no file can run (a misspelt keyword, an unknown effort)
    check_options(encode_options)


def check_options(options: dict) -> None:
    """Raise what `jndenc.encode` would for ``options`` whatever the file (`jndenc.encode.checked`)."""
    from ..encode import checked
    from ..options import EncodeOptions

    checked(EncodeOptions.from_kwargs(**options))


def refused(options: dict) -> str | None:
    """Why `jndenc.encode` would refuse an item's ``options`` whatever the file, or None."""
    try:
        check_options(item_encode_options(options))
    except (UserError, TypeError) as exc:
        return failure_reason(exc)
    return None
