"""Convert the bundled Multi-band MelGAN vocoder (``mb_melgan.tflite``) to an ONNX graph.

Why our own converter: ``tf2onnx`` needs TensorFlow even for tflite input and ``tflite2onnx``
0.4.1 fails on EXPAND_DIMS. The graph uses few op kinds, so we walk its ops in order (read
with the ``tflite`` package) and emit ONNX nodes (``onnx.helper``); weights come straight out
of the flatbuffer.

What the conversion changes, and why:
- Layout: every activation is kept channels-first as (N, C, 1, T). ORT then picks its
  blocked-channel convolution kernels (~1.45x faster than the same graph in 1-D).
  EXPAND_DIMS / SQUEEZE around each convolution become nothing; we only remember whether the
  tflite tensor holds time on its height or width axis, to orient the kernels.
- Every dilated Conv1D was exported as SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND with
  SHAPE/STRIDED_SLICE/FLOOR_MOD/PACK arithmetic computing the paddings: it becomes one Conv
  with ``dilations`` (the convolution is VALID, after an explicit reflect padding, so the
  space-to-batch padding is only there to make the length divisible and is cropped again).
  Integer shape arithmetic is dropped: ONNX shapes are dynamic.
- MIRROR_PAD -> Pad(mode=reflect). TRANSPOSE_CONV -> its polyphase form (one Conv, the stride
  phases interleaved into time, then the TensorFlow "SAME" crop): ORT's Conv kernels beat its
  ConvTranspose. The last one only zero-stuffs the four bands to 24 kHz for the 63-tap PQMF
  synthesis filter: that upsampling, its zero padding and the filter become one Conv at the
  band rate (17 taps per phase), which multiplies no stuffed zeros.
- Nodes whose output nothing reads after that are dropped.
- The graph rounds its four sub-band signals to int8 (TANH -> QUANTIZE -> ... -> DEQUANTIZE,
  step 1/128) before the PQMF synthesis filter. ``keep_int8=True`` keeps that step as
  QuantizeLinear/DequantizeLinear (to reproduce LiteRT); ``False`` leaves it out (cleaner audio).

Imports: numpy, onnx, tflite, ``melgan_graph`` (the names and version users of the graph need,
kept apart so that they need not import onnx and tflite).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper
from tflite.utils import opcode2name

# melgan_graph.CONVERTER_VERSION: bump it when the emitted graph changes.
from synthesis.engines.melgan_graph import CONVERTER_VERSION, INPUT_NAME, OUTPUT_NAME, ConversionError

OPSET = 17
IR_VERSION = 8  # accepted by every onnxruntime release we pin

# tflite enum values (tflite/schema): Padding, ActivationFunctionType, MirrorPadMode, TensorType
SAME, VALID = 0, 1
NO_ACTIVATION = 0
REFLECT = 0
INT32, INT8 = 2, 9
# Ops that only compute shapes from shapes (int32 in, int32 out): dropped.
SHAPE_OPS = {"SHAPE", "STRIDED_SLICE", "PACK", "FLOOR_MOD", "SUB", "MUL", "CONCATENATION"}


@dataclass(frozen=True)
class Value:
    """An activation in the ONNX graph, as seen from the tflite tensor it stands for.

    ``time_axis`` is where the tflite tensor keeps time (1 for (N, T, C) and (N, T, 1, C);
    2 for (N, 1, T, C)); ``dilation`` is set between SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND.
    """

    name: str
    time_axis: int = 1
    dilation: int = 1
    # Set while the value is a pure upsampling (a transposed convolution whose kernel is its
    # stride), maybe zero-padded since: a convolution of it can then run at the input's rate.
    upsampled: "Upsampled | None" = field(default=None, compare=False)


@dataclass(frozen=True)
class Upsampled:
    source: str  # the signal before upsampling
    kernel: np.ndarray  # (O, I, stride): up[o, q*stride + k] = sum_i x[i, q] kernel[o, i, k]
    before: int = 0  # zeros padded before and after the upsampled signal
    after: int = 0


class _Converter:
    def __init__(self, model_bytes: bytes, keep_int8: bool):
        self.model = tflite.Model.GetRootAsModel(model_bytes, 0)
        if self.model.SubgraphsLength() != 1:
            raise ConversionError("expected one subgraph")
        self.graph = self.model.Subgraphs(0)
        self.keep_int8 = keep_int8
        self.values: dict[int, Value] = {}
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    # -- helpers -----------------------------------------------------------------------------
    def tensor(self, index: int):
        return self.graph.Tensors(index)

    def constant(self, index: int) -> np.ndarray | None:
        tensor = self.tensor(index)
        data = self.model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(data, int) or not len(data):  # flatbuffers returns 0 for an absent vector
            return None
        dtype = {0: np.float32, INT32: np.int32}.get(tensor.Type())
        if dtype is None:
            raise ConversionError(f"constant {tensor.Name().decode()} has unsupported type {tensor.Type()}")
        shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else []
        return data.view(dtype).reshape(shape)

    def add_constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def emit(self, op_type: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output

    def value(self, index: int) -> Value:
        try:
            return self.values[index]
        except KeyError:
            raise ConversionError(f"tensor {self.tensor(index).Name().decode()} is not an activation we produced") from None

    @staticmethod
    def options(op, options_class):
        table = op.BuiltinOptions()
        options = options_class()
        options.Init(table.Bytes, table.Pos)
        return options

    def time_padding(self, index: int) -> tuple[int, int]:
        """(before, after) of a (N, T, C) padding constant that may pad only time."""
        pads = self.constant(index)
        if pads is None or pads.shape != (3, 2) or pads[0].any() or pads[2].any():
            raise ConversionError(f"padding {pads!r} pads something other than time")
        return int(pads[1, 0]), int(pads[1, 1])

    def kernel(self, index: int, time_axis: int) -> np.ndarray:
        """A tflite (O, KH, KW, I) kernel as (O, I, 1, K) along our time axis."""
        weights = self.constant(index)
        if weights is None or weights.ndim != 4:
            raise ConversionError(f"kernel {self.tensor(index).Name().decode()} is not a constant 4-D tensor")
        along_time = weights[:, :, 0, :] if time_axis == 1 else weights[:, 0, :, :]
        return np.ascontiguousarray(along_time.transpose(0, 2, 1)[:, :, None, :])

    def bias(self, inputs: list[int], index: int, out: str, repeat: int = 1) -> list[str]:
        """[the op's bias constant, each value ``repeat`` times (once per stride phase)], or []
        when the op has no bias input or it is all zeros."""
        bias = self.constant(inputs[index]) if len(inputs) > index and inputs[index] >= 0 else None
        if bias is None or not bias.any():
            return []
        return [self.add_constant(f"{out}_b", np.repeat(bias.astype(np.float32), repeat))]

    @staticmethod
    def check_no_activation(options, name: str) -> None:
        if options.FusedActivationFunction() != NO_ACTIVATION:
            raise ConversionError(f"{name} has a fused activation")

    # -- ops ---------------------------------------------------------------------------------
    def op_kind(self, op) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        if code.CustomCode():
            raise ConversionError(f"custom operator {code.CustomCode().decode()} is not supported")
        return opcode2name(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))

    def convert(self) -> onnx.ModelProto:
        if (self.graph.InputsLength(), self.graph.OutputsLength()) != (1, 1):
            raise ConversionError("a vocoder graph has one input (the mel) and one output (the audio)")
        mels, audio = self.graph.Inputs(0), self.graph.Outputs(0)
        channels_first = self.emit("Transpose", [INPUT_NAME], "mels_nct", perm=[0, 2, 1])
        axes = self.add_constant("axis_2", np.array([2], np.int64))
        self.values[mels] = Value(self.emit("Unsqueeze", [channels_first, axes], "mels_nc1t"))
        for k in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(k)
            kind = self.op_kind(op)
            inputs = [op.Inputs(i) for i in range(op.InputsLength())]
            outputs = [op.Outputs(i) for i in range(op.OutputsLength())]
            if kind in SHAPE_OPS and all(self.tensor(i).Type() == INT32 for i in outputs):
                continue
            handler = getattr(self, f"op_{kind.lower()}", None)
            if handler is None:
                raise ConversionError(f"operator {k} ({kind}) is not supported")
            self.values[outputs[0]] = handler(op, inputs, f"n{k}_{kind.lower()}")
        squeeze_axes = self.add_constant("axes_1_2", np.array([1, 2], np.int64))
        self.emit("Squeeze", [self.value(audio).name, squeeze_axes], OUTPUT_NAME)
        self.drop_unused()
        graph = helper.make_graph(
            self.nodes, "mb_melgan",
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, "frames", 80])],
            [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, "samples"])],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="synthesis.engines.melgan_onnx",
                                  producer_version=str(CONVERTER_VERSION))
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        return model

    def drop_unused(self) -> None:
        """Drop the nodes and constants nothing reads any more (an upsampling whose convolution
        was fused with it, see ``_conv_of_upsampled``)."""
        needed, kept = {OUTPUT_NAME}, []
        for node in reversed(self.nodes):
            if any(name in needed for name in node.output):
                kept.append(node)
                needed.update(node.input)
        self.nodes = kept[::-1]
        self.initializers = [tensor for tensor in self.initializers if tensor.name in needed]

    def op_expand_dims(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        axis = int(self.constant(inputs[1]).reshape(-1)[0]) % 4
        if axis not in (1, 2) or source.time_axis != 1:
            raise ConversionError(f"EXPAND_DIMS at axis {axis} of a {source} is not a Conv1D wrapper")
        return replace(source, time_axis=2 if axis == 1 else 1)

    def op_squeeze(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        dims = [int(d) % 4 for d in self.options(op, tflite.SqueezeOptions).SqueezeDimsAsNumpy()]
        if dims != [3 - source.time_axis]:  # the singleton axis next to time
            raise ConversionError(f"SQUEEZE {dims} of {source} would drop time or channels")
        return replace(source, time_axis=1)

    def op_mirror_pad(self, op, inputs, out) -> Value:
        if self.options(op, tflite.MirrorPadOptions).Mode() != REFLECT:
            raise ConversionError("only REFLECT mirror padding is supported")
        return self._pad(inputs, out, "reflect")

    def op_pad(self, op, inputs, out) -> Value:
        return self._pad(inputs, out, "constant")

    def _pad(self, inputs, out, mode: str) -> Value:
        before, after = self.time_padding(inputs[1])
        pads = self.add_constant(f"{out}_pads", np.array([0, 0, 0, before, 0, 0, 0, after], np.int64))
        source = self.value(inputs[0])
        up = source.upsampled
        kept = replace(up, before=up.before + before, after=up.after + after) if up and mode == "constant" else None
        return Value(self.emit("Pad", [source.name, pads], out, mode=mode), upsampled=kept)

    def op_space_to_batch_nd(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        (block,) = self.constant(inputs[1]).reshape(-1)
        return Value(source.name, source.time_axis, dilation=int(block))

    def op_batch_to_space_nd(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        (block,) = self.constant(inputs[1]).reshape(-1)
        if int(block) != source.dilation:
            raise ConversionError("BATCH_TO_SPACE_ND does not close the SPACE_TO_BATCH_ND it follows")
        return Value(source.name, source.time_axis)

    def op_conv_2d(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        options = self.options(op, tflite.Conv2DOptions)
        self.check_no_activation(options, out)
        if (options.Padding(), options.StrideH(), options.StrideW(),
                options.DilationHFactor(), options.DilationWFactor()) != (VALID, 1, 1, 1, 1):
            raise ConversionError(f"{out}: only VALID, stride-1, undilated CONV_2D is supported")
        kernel = self.kernel(inputs[1], source.time_axis)
        up = source.upsampled
        if up is not None and source.dilation == 1 and up.before + up.after == kernel.shape[-1] - 1:
            return self._conv_of_upsampled(up, kernel, inputs, out, source.time_axis)
        node_inputs = [source.name, self.add_constant(f"{out}_w", kernel), *self.bias(inputs, 2, out)]
        self.emit("Conv", node_inputs, out, dilations=[1, source.dilation])
        return Value(out, source.time_axis, source.dilation)

    def _conv_of_upsampled(self, up: Upsampled, kernel: np.ndarray, inputs: list[int], out: str, time_axis: int) -> Value:
        """Conv(zero-padded upsampling of x) as one Conv over x at its own rate, one output
        channel per stride phase, woven into time: the PQMF synthesis filter (63 taps at 24 kHz
        over a 4x zero-stuffed signal) then multiplies no stuffed zeros. Measured: that Conv was
        ~9% of the vocoder's time for <1% of its products.

        Output sample q*s + r of channel c is sum_{o, m} h[c, o, m] up[o, q*s + r + m - before]
        and up[o, (q + j)*s + k] = sum_i x[i, q + j] u[o, i, k]: tap j of phase r gathers the
        h[c, o, m] u[o, i, k] with r + m - before = j*s + k. Same length as the padded
        convolution's output because before + after = taps - 1 (checked by the caller)."""
        stride = up.kernel.shape[-1]
        outs, ins, taps = kernel.shape[0], up.kernel.shape[1], kernel.shape[-1]
        low = (0 - up.before) // stride
        high = (stride - 1 + taps - 1 - up.before) // stride
        fused = np.zeros((outs, stride, ins, high - low + 1), np.float64)
        h, u = kernel[:, :, 0, :].astype(np.float64), up.kernel.astype(np.float64)
        for r in range(stride):
            for m in range(taps):
                j, k = divmod(r + m - up.before, stride)
                fused[:, r, :, j - low] += h[:, :, m] @ u[:, :, k]
        node_inputs = [up.source, self.add_constant(f"{out}_w", fused.reshape(outs * stride, ins, 1, -1).astype(np.float32)),
                       *self.bias(inputs, 2, out, stride)]
        phased = self.emit("Conv", node_inputs, f"{out}_phases", pads=[0, -low, 0, high])
        return Value(self._weave(phased, outs, stride, out), time_axis)

    def _weave(self, phased: str, outs: int, stride: int, out: str) -> str:
        """(N, O*s, 1, T) with channel o*s + r holding samples q*s + r of output o -> (N, O, 1, T*s)."""
        split = self.emit("Reshape", [phased, self.add_constant(f"{out}_split_shape", np.array([0, outs, stride, -1], np.int64))], f"{out}_split")
        woven = self.emit("Transpose", [split], f"{out}_woven", perm=[0, 1, 3, 2])
        return self.emit("Reshape", [woven, self.add_constant(f"{out}_join_shape", np.array([0, outs, 1, -1], np.int64))], out)

    def op_transpose_conv(self, op, inputs, out) -> Value:
        """A strided transposed convolution as its polyphase form: one Conv whose stride x O
        output channels are the stride phases, interleaved back into time, then cropped.

        Output sample q*s + r of the full transposed convolution is sum_j x[q - j] w[j*s + r]:
        for each phase r an ordinary J-tap convolution (J = ceil(K / s)) over the input at
        its own rate. ORT runs Conv on its blocked-channel kernels and ConvTranspose as a GEMM
        plus col2im: measured on the vocoder, the same products in ~8% less vocoder time.
        Same sums in another order: largest difference from ConvTranspose ~2e-8."""
        source = self.value(inputs[2])
        options = self.options(op, tflite.TransposeConvOptions)
        self.check_no_activation(options, out)
        stride = options.StrideH() if source.time_axis == 1 else options.StrideW()
        kernel = self.kernel(inputs[1], source.time_axis)  # (O, I, 1, K)
        outs, ins, _, size = kernel.shape
        taps = -(-size // stride)
        padded = np.zeros((outs, ins, taps * stride), np.float32)
        padded[..., :size] = kernel[:, :, 0, :]
        # phases[o, r, i, k] = w[o, i, (taps - 1 - k) * stride + r]: tap k reads x[q - (taps - 1 - k)]
        phases = padded.reshape(outs, ins, taps, stride)[:, :, ::-1, :].transpose(0, 3, 1, 2)
        biases = self.bias(inputs, 3, out, stride)
        node_inputs = [source.name, self.add_constant(f"{out}_w", np.ascontiguousarray(phases.reshape(outs * stride, ins, 1, taps))), *biases]
        # (N, O*s, 1, T + taps - 1) -> (N, O, 1, (T + taps - 1) * s): sample q*s + r of output o
        phased = self.emit("Conv", node_inputs, f"{out}_phases", pads=[0, taps - 1, 0, taps - 1])
        full = self._weave(phased, outs, stride, f"{out}_full")
        # TensorFlow SAME: the output is input x stride, the full result cropped by K - stride
        # (the smaller half at the start); VALID keeps all (T - 1) * s + K samples.
        total = max(size - stride, 0) if options.Padding() == SAME else 0
        start = total // 2
        from_end = (taps - 1) * stride - (size - stride) + (total - start)  # samples past the last one kept
        ends = -from_end if from_end else np.iinfo(np.int64).max
        self.emit("Slice", [full, self.add_constant(f"{out}_starts", np.array([start], np.int64)),
                            self.add_constant(f"{out}_ends", np.array([ends], np.int64)),
                            self.add_constant(f"{out}_axes", np.array([3], np.int64))], out)
        pure = size == stride and total == 0 and not biases  # no overlap, no crop, no bias
        return Value(out, source.time_axis, upsampled=Upsampled(source.name, kernel[:, :, 0, :]) if pure else None)

    def op_add(self, op, inputs, out) -> Value:
        self.check_no_activation(self.options(op, tflite.AddOptions), out)
        constants = [self.constant(i) for i in inputs]
        if constants[0] is not None:
            raise ConversionError(f"{out}: a constant first operand is not supported")
        first = self.value(inputs[0])
        if constants[1] is None:
            other = self.value(inputs[1]).name
        else:  # a per-channel bias
            other = self.add_constant(f"{out}_b", constants[1].reshape(1, -1, 1, 1))
        return Value(self.emit("Add", [first.name, other], out), first.time_axis)

    def op_leaky_relu(self, op, inputs, out) -> Value:
        alpha = self.options(op, tflite.LeakyReluOptions).Alpha()
        source = self.value(inputs[0])
        return Value(self.emit("LeakyRelu", [source.name], out, alpha=alpha), source.time_axis)

    def op_tanh(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        return Value(self.emit("Tanh", [source.name], out), source.time_axis)

    def _scale_and_zero_point(self, index: int, out: str) -> list[str]:
        quantization = self.tensor(index).Quantization()
        scale = float(quantization.ScaleAsNumpy()[0])
        zero_point = int(quantization.ZeroPointAsNumpy()[0])
        return [self.add_constant(f"{out}_scale", np.array(scale, np.float32)),
                self.add_constant(f"{out}_zero", np.array(zero_point, np.int8))]

    def op_quantize(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        if not self.keep_int8:
            return source
        quantized = op.Outputs(0)
        if self.tensor(quantized).Type() != INT8:
            raise ConversionError(f"{out}: only int8 quantization is supported")
        return Value(self.emit("QuantizeLinear", [source.name, *self._scale_and_zero_point(quantized, out)], out),
                     source.time_axis)

    def op_dequantize(self, op, inputs, out) -> Value:
        source = self.value(inputs[0])
        if not self.keep_int8:
            return source
        return Value(self.emit("DequantizeLinear", [source.name, *self._scale_and_zero_point(inputs[0], out)], out),
                     source.time_axis)


def convert_melgan(model_bytes: bytes, keep_int8: bool = False) -> bytes:
    """The ONNX model (serialised) computing the same audio as the tflite vocoder."""
    return _Converter(model_bytes, keep_int8).convert().SerializeToString()
