"""The user's own encoder options tried once on two tiny frames before any work: x264, x265 and SVT-AV1 skip a key
of their parameter string they do not know with a line in FFmpeg's log and encode on, so a misspelt
``--enc x264-params=aq-strenght=1.2`` would change nothing without a word (ab-av1 and Av1an pass such strings
through the same way). FFmpeg's own options it refuses fail the real encode, which says so (`runner`)."""
from __future__ import annotations

import re

from ..errors import JndencError, UserError
from .enc_params import Params, merged
from .runner import run_ffmpeg

# what each encoder logs for a key it skipped: x264 "Error parsing option 'k = v'.", x265 "Unknown option: k.",
# SVT-AV1 "Error parsing option k: v."
_SKIPPED = re.compile(r"Error parsing option '?([^'=:\s]+)|Unknown option: ([^.\s]+)")


def skipped_keys(log: str) -> list[str]:
    """The parameter-string keys an encoder's log says it skipped."""
    return [a or b for a, b in _SKIPPED.findall(log)]


def try_options(params: Params, encoder: str) -> None:
    """Refuse ``params`` where ``encoder`` would skip a key of them; a trial that fails for another reason (an
    option the 8-bit trial frames cannot take, such as a 10-bit profile) is left to the real encode."""
    if not params:
        return
    args = ["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-frames:v", "2", "-pix_fmt", "yuv420p",
            "-c:v", encoder, *merged([], params), "-f", "null", "-"]
    try:
        log = run_ffmpeg(args, what=f"trying the --enc options on {encoder}")
    except JndencError:
        return
    skipped = skipped_keys(log)
    if skipped:
        raise UserError(f"--enc: {encoder} cannot read {', '.join(skipped)} (an unknown key or a value it does not "
                        f"take): it would skip {'it' if len(skipped) == 1 else 'them'} and encode on")
