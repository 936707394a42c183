"""Silence TensorFlow's native start-up chatter on stderr.

TensorFlow's C++ side logs through absl before its logging is initialised, so
``TF_CPP_MIN_LOG_LEVEL`` does not stop lines such as "Could not find cuda
drivers" or the oneDNN notice. jndenc promises exactly one stderr line on
error and machine-readable stdout, so the import and first model build run
with file descriptor 2 pointed at /dev/null. ``JNDENC_DEBUG=1`` or ``--debug``
keeps them.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    if os.environ.get("JNDENC_DEBUG") == "1" or "--debug" in sys.argv:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_quietly() -> None:
    """Import TensorFlow and Keras and look for devices with the chatter silenced, so the commands that train or
    convert (which import them in many places) print only their own lines; later imports are already done."""
    with native_stderr_silenced():
        import keras
        import tensorflow as tf

        del keras  # imported for its side effects: its own start-up lines

        tf.config.list_physical_devices()  # the CUDA probe's "failed call to cuInit" comes here
