"""Files written whole: `write_text_atomic`, and the interrupts held while two files are made whole together."""
from __future__ import annotations

import os
import signal
import threading

import pytest

from jndenc.fileio import interrupts_deferred, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    p = write_text_atomic(tmp_path / "a.json", "old")
    with pytest.raises(TypeError):
        write_text_atomic(p, None)  # fails part-way, after the temp file was opened
    assert p.read_text() == "old" and sorted(x.name for x in tmp_path.iterdir()) == ["a.json"]


def test_ctrl_c_inside_the_block_arrives_after_it(tmp_path):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("first")
            write_text_atomic(tmp_path / "b.json", "x")
            done.append("second")
    assert done == ["first", "second"] and (tmp_path / "b.json").read_text() == "x"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back


def test_sigterm_goes_to_the_handler_that_was_in_place():
    seen = []
    old = signal.signal(signal.SIGTERM, lambda n, f: seen.append(n))
    try:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            assert seen == []
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, old)


def test_outside_the_main_thread_it_changes_nothing():
    errors = []

    def body():
        try:
            with interrupts_deferred():
                pass
        except Exception as exc:  # signal.signal raises ValueError outside the main thread
            errors.append(exc)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert errors == []


def test_temp_names_are_per_thread_and_keep_the_name_end_where_asked(tmp_path):
    # one rule for every temp-then-rename: writers of one path in two threads of a process never share a temp
    # name, and FFmpeg / Keras, which pick the format by how the name ends, still see it
    import threading

    from jndenc.fileio import temp_name

    names = []
    t = threading.Thread(target=lambda: names.append(temp_name(tmp_path / "m.weights.h5", keep_suffix=True)))
    t.start()
    t.join()
    here = temp_name(tmp_path / "m.weights.h5", keep_suffix=True)
    assert here != names[0] and here.parent == tmp_path and here.name.startswith(".")
    assert here.name.endswith(".weights.h5") and names[0].name.endswith(".weights.h5")
    assert temp_name(tmp_path / "a.json").name.endswith(".tmp")
