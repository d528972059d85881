"""The bundled voice's vocoder runtimes: MB-MelGAN on ONNX Runtime (``ort_vocoder``, converted
from the wheel's tflite, with or without its int8 rounding) or on LiteRT interpreters, behind one
shape: ``submit(mel) -> Future`` of float32 samples, ``release_memory()`` and a ``tag`` that goes
into the engine's model version. ``zhtts`` picks one by name (ZHTTS_VOCODER).
"""
from __future__ import annotations

import queue
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from synthesis.engines.base import EngineUnavailable

# onnx: the vocoder converted to ONNX Runtime without its int8 rounding (default: cleaner, ~3x
# faster); onnx-int8: the same with the rounding kept (matches LiteRT); litert: the original.
VOCODER_RUNTIMES = ("onnx", "onnx-int8", "litert")


class VocoderPool:
    """Vocoder interpreters behind a thread pool (LiteRT's invoke releases the GIL).

    A LiteRT interpreter is not thread-safe, so each is checked out by one thread at a time.
    """

    tag = "litert"  # goes into the engine's model version

    def __init__(self, interpreters: list):
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for interpreter in interpreters:
            self._idle.put(interpreter)
        self._threads = ThreadPoolExecutor(len(interpreters), thread_name_prefix="zhtts-vocoder")

    def submit(self, mel: np.ndarray) -> Future:
        return self._threads.submit(self._run, mel)

    def release_memory(self) -> None:
        """Nothing to do: LiteRT offers no way to shrink an interpreter's tensor arena."""

    def _run(self, mel: np.ndarray) -> np.ndarray:
        if not mel.shape[1]:
            return np.zeros(0, np.float32)
        model = self._idle.get()
        try:
            prepared(model, list(mel.shape))
            model.set_tensor(model.get_input_details()[0]["index"], mel)
            model.invoke()
            return model.get_tensor(model.get_output_details()[0]["index"])[0, :, 0].astype(np.float32)
        finally:
            self._idle.put(model)


def prepared(interpreter, input_shape: list[int]):
    """Size the (first) input and allocate: needed before every call whose shape may differ."""
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], input_shape)
    interpreter.allocate_tensors()
    return interpreter


def load_vocoder(runtime: str, vocoder_bytes: bytes, interpreter_class, num_threads: int, workers: int):
    """The vocoder on ``runtime`` (one of VOCODER_RUNTIMES) with ``workers`` calls side by side;
    every kind offers ``submit(mel) -> Future``, ``release_memory()`` and ``tag``."""
    if runtime == "litert":
        return VocoderPool([
            prepared(interpreter_class(model_content=vocoder_bytes, num_threads=num_threads), [1, 64, 80])
            for _ in range(workers)
        ])
    from synthesis.engines.melgan_graph import ConversionError
    from synthesis.engines.ort_vocoder import OnnxVocoder

    try:
        return OnnxVocoder.load(vocoder_bytes, keep_int8=runtime == "onnx-int8", workers=workers)
    except (ImportError, ConversionError) as exc:
        raise EngineUnavailable(f"cannot run the vocoder on ONNX Runtime ({exc}); run make install or set ZHTTS_VOCODER=litert") from exc
