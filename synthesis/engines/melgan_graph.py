"""The converted vocoder graph as its users see it, without importing the converter.

``melgan_onnx`` converts with onnx and tflite, ~0.1 s to import; every load after the first
finds the converted graph in the model cache and needs only these names to find and run it.

Imports: nothing.
"""
# Bump when melgan_onnx emits a different graph: it is part of the on-disk cache key.
CONVERTER_VERSION = 3  # 2: transposed convolutions in polyphase form; 3: PQMF filter at the band rate
INPUT_NAME = "mels"  # float32 (1, frames, 80), as the tflite model
OUTPUT_NAME = "audio"  # float32 (1, frames * 300)


class ConversionError(RuntimeError):
    """The tflite file holds something this converter does not know how to translate."""
