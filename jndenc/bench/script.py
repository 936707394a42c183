"""How a benchmark script ends: where what it reads is not here (the shared clips, a label build), it says so and
skips, exit 0, as the tests do; another mistake of the command line is one line, exit 2; anything else is a bug
and keeps its traceback."""
from __future__ import annotations

import os
import sys
from typing import Callable

from ..errors import JndencError, UserError


def run_main(main: Callable[[], int | None]) -> int:
    """``main()``'s status, with a missing input read as a skip."""
    try:
        return main() or 0
    except (JndencError, FileNotFoundError) as exc:
        # the path a missing-file error names: FileNotFoundError carries it, jndenc's errors start or end with it
        msg = str(exc)
        named = [getattr(exc, "filename", None), msg.split(": ")[0], msg.rsplit(": ", 1)[-1]]
        path = next((p for p in named if p and os.sep in str(p) and not os.path.exists(p)), None)
        name = os.path.basename(sys.argv[0]) or "benchmark"
        if path:
            print(f"{name}: skipped: {path} is not here (the shared clips or the label build are absent)",
                  file=sys.stderr)
            return 0
        if isinstance(exc, UserError):
            print(f"{name}: error: {exc}", file=sys.stderr)
            return 2
        raise
