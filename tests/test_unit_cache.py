"""The sentence-level audio cache: bit-exact reuse, damage detected, one file per unit, LRU bound.

Store-level tests use hand-made audio (no voice); the render tests use the real bundled voice.
"""
from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np
import pytest

from synthesis.engines.base import ClauseAudio
from synthesis.pipeline import RenderConfig, render
from synthesis.unit_cache import SUFFIX, UnitCache

SENTENCES = [
    "这件青铜器铸造于商代晚期，距今已有三千多年。", "器身布满饕餮纹，威严而神秘。",
    "考古学家在一九七四年的发掘中发现了它。", "当时它静静地躺在墓室的角落里。",
    "请您靠近一些，仔细看看器壁上的铭文。", "铭文记录了一次隆重的祭祀。",
    "祭祀的主人是一位诸侯。", "他把这件酒器献给了祖先。",
    "器物的足部有三道弦纹。", "盖子上站着一只小鸟。",
    "小鸟的羽毛刻得十分细致。", "专家认为它出自王室作坊。",
    "同一墓中还出土了玉器。", "玉器的颜色温润如脂。",
    "这些文物见证了古代的礼制。", "礼制规定了不同身份的用器。",
    "诸侯只能使用七鼎六簋。", "天子则使用九鼎八簋。",
    "今天我们在展厅里看到了其中的一件。", "感谢您的参观，欢迎再来。",
]


def unit(seed: int, clauses: int = 2) -> list[ClauseAudio]:
    rng = np.random.default_rng(seed)
    return [ClauseAudio(samples=rng.uniform(-0.5, 0.5, 2400 + n).astype(np.float32), sample_rate=24000,
                        char_times=[(0.01 * n, 0.05 + 0.1 / 3)], warnings=["w"] if n == 0 else [], joined=n < clauses - 1)
            for n in range(clauses)]


def same(a: list[ClauseAudio], b: list[ClauseAudio]) -> bool:
    return all(np.array_equal(x.samples, y.samples) and x.char_times == y.char_times and x.warnings == y.warnings
               and x.joined == y.joined and x.sample_rate == y.sample_rate for x, y in zip(a, b, strict=True))


def test_round_trip_is_exact(tmp_path):
    store = UnitCache(tmp_path)
    store.put("ab" + "0" * 38, unit(1))
    assert same(store.get("ab" + "0" * 38), unit(1))
    assert store.get("cd" + "0" * 38) is None


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_damaged_unit_is_never_served(tmp_path, damage):
    store, key = UnitCache(tmp_path), "ab" + "1" * 38
    store.put(key, unit(2))
    path = store.path(key)
    blob = bytearray(path.read_bytes())
    if damage == "flip":
        blob[len(blob) // 2] ^= 0x01
    elif damage == "truncate":
        blob = blob[: len(blob) - 7]
    else:
        blob = bytearray()
    path.write_bytes(bytes(blob))
    assert store.get(key) is None
    assert not path.exists()  # removed, so the render writes a good one
    store.put(key, unit(2))
    assert same(store.get(key), unit(2))


def test_put_over_a_damaged_file_replaces_it(tmp_path):
    store, key = UnitCache(tmp_path), "ab" + "2" * 38
    store.put(key, unit(3))
    store.path(key).write_bytes(b"SYNUNIT1 garbage")
    store.put(key, unit(3))
    assert same(store.get(key), unit(3))


def _fill(root: str, key: str, start, seed: int) -> None:
    start.wait()
    for _ in range(30):
        UnitCache(root).put(key, unit(seed))


def test_concurrent_fillers_leave_one_file(tmp_path):
    key = "ef" + "3" * 38
    ctx = multiprocessing.get_context("spawn")  # fork after native libraries (the voice) loaded can crash
    start = ctx.Barrier(2)
    workers = [ctx.Process(target=_fill, args=(str(tmp_path), key, start, 4)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [UnitCache(tmp_path).path(key)]  # no temporary files left either
    assert same(UnitCache(tmp_path).get(key), unit(4))


def _aged(store: UnitCache, keys: list[str]) -> None:
    """Give the units increasing last-use times, oldest first."""
    now = time.time()
    for age, key in enumerate(reversed(keys)):
        os.utime(store.path(key), (now - 100 - age, now - 100 - age))


def test_sweep_evicts_least_recently_used(tmp_path):
    store = UnitCache(tmp_path)
    keys = [f"{n:02x}" + "4" * 38 for n in range(6)]
    for n, key in enumerate(keys):
        store.put(key, unit(n))
    _aged(store, keys)
    store.get(keys[0])  # the oldest is used again: now the most recent
    size = store.path(keys[1]).stat().st_size
    report = store.sweep(max_bytes=3 * size + size // 2)
    left = {p.name[: -len(SUFFIX)] for p in tmp_path.rglob(f"*{SUFFIX}")}
    assert left == {keys[0], keys[4], keys[5]}
    assert (report.evicted, report.kept) == (3, 3)
    assert report.kept_bytes <= 3 * size + size // 2


def test_sweep_never_evicts_a_unit_of_a_render_in_progress(tmp_path):
    store = UnitCache(tmp_path)
    keys = [f"{n:02x}" + "5" * 38 for n in range(4)]
    for n, key in enumerate(keys):
        store.put(key, unit(n))
    _aged(store, keys)
    with store.pinned(keys[:2]):  # the two oldest belong to a render still running
        report = store.sweep(max_bytes=0)
        assert {p.name[: -len(SUFFIX)] for p in tmp_path.rglob(f"*{SUFFIX}")} == set(keys[:2])
        assert (report.evicted, report.pinned) == (2, 2)
    assert store.sweep(max_bytes=0).evicted == 2  # released when the render ends


def test_dry_run_sweep_deletes_nothing(tmp_path):
    store = UnitCache(tmp_path)
    store.put("aa" + "6" * 38, unit(1))
    assert store.sweep(max_bytes=0, dry_run=True).evicted == 1
    assert store.get("aa" + "6" * 38) is not None


# -- with the real voice ---------------------------------------------------------------------------

def wav_bytes(rendering) -> bytes:
    return rendering.wav_path.read_bytes()


@pytest.mark.slow
def test_one_edited_sentence_is_the_only_one_synthesised_and_output_is_bit_exact(tmp_path):
    units = tmp_path / "units"

    def config(name, cache=True):
        return RenderConfig(out_dir=tmp_path / name, formats=("wav",), unit_cache_dir=units if cache else None)

    narration = "".join(SENTENCES)
    first = render(narration, config("a"))
    assert (first.synthesized_units, first.reused_units) == (20, 0)

    edited = SENTENCES.copy()
    edited[7] = "他把这件珍贵的酒器献给了祖先。"
    assembled = render("".join(edited), config("b"))
    assert (assembled.synthesized_units, assembled.reused_units) == (1, 19)

    from_scratch = render("".join(edited), config("c", cache=False))
    assert from_scratch.reused_units == 0
    assert wav_bytes(assembled) == wav_bytes(from_scratch)
    assert assembled.timings == from_scratch.timings


@pytest.mark.slow
def test_corrupt_unit_is_resynthesised_and_the_render_is_unchanged(tmp_path):
    units = tmp_path / "units"
    script = "".join(SENTENCES[:3])
    good = render(script, RenderConfig(out_dir=tmp_path / "a", formats=("wav",), unit_cache_dir=units))
    victim = sorted(units.rglob(f"*{SUFFIX}"))[0]
    victim.write_bytes(victim.read_bytes()[:-100])  # truncated
    again = render(script, RenderConfig(out_dir=tmp_path / "b", formats=("wav",), unit_cache_dir=units))
    assert (again.synthesized_units, again.reused_units) == (1, 2)
    assert wav_bytes(again) == wav_bytes(good)


@pytest.mark.slow
def test_speed_and_emotion_are_part_of_the_key(tmp_path):
    units = tmp_path / "units"
    script = SENTENCES[0]
    render(script, RenderConfig(out_dir=tmp_path / "a", formats=("wav",), unit_cache_dir=units))
    faster = render(script, RenderConfig(out_dir=tmp_path / "b", formats=("wav",), unit_cache_dir=units, speed=1.25))
    happy = render(script, RenderConfig(out_dir=tmp_path / "c", formats=("wav",), unit_cache_dir=units, emotion="happy"))
    louder = render(script, RenderConfig(out_dir=tmp_path / "d", formats=("wav",), unit_cache_dir=units, target_lufs=-14.0))
    assert (faster.synthesized_units, happy.synthesized_units) == (1, 1)
    assert (louder.synthesized_units, louder.reused_units) == (0, 1)  # loudness is after the engine
