"""Full-integer int8 export through the TFLite converter: uint8 input (scale 1, zero point 0: the node
feeds its RGB pixels as they are), int8 ops throughout, int8 output (the reader dequantises with the output
tensor's parameters and normalises again)."""

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

# Ops that mean a float island in what should be an all-int8 graph.
FLOAT_ISLAND_OPS = {"DEQUANTIZE"}


class ExportError(RuntimeError):
    """The converted model is not what the node expects (input quantisation, float islands)."""


def export_int8(
    model: keras.Model,
    size: int | tuple[int, int],
    representative: Callable[[], Iterator[list[NDArray[np.float32]]]],
) -> bytes:
    """``size``: the input's side, or its (height, width)."""
    height, width = (size, size) if isinstance(size, int) else size
    # Through a SavedModel: a concrete function of a Keras 3 model keeps its weights as resource variables,
    # which the int8 calibrator cannot read (READ_VARIABLE fails).
    with tempfile.TemporaryDirectory(prefix="recognizer-export-") as folder:
        saved = str(Path(folder) / "saved_model")
        model.export(
            saved,
            format="tf_saved_model",
            verbose=False,
            input_signature=[tf.TensorSpec([1, height, width, 3], tf.float32, name="image")],
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        tflite = _convert(converter, _full_range(representative))
    check_int8(tflite)
    return tflite


def _full_range(
    representative: Callable[[], Iterator[list[NDArray[np.float32]]]],
) -> Callable[[], Iterator[list[NDArray[np.float32]]]]:
    """The calibration pictures, each with a 0 and a 255 pixel, so the input's range is exactly 0-255 (uint8
    input with scale 1, zero point 0: the node feeds its pixels as they are)."""

    def gen() -> Iterator[list[NDArray[np.float32]]]:
        for (image,) in representative():
            image = image.astype(np.float32, copy=True)
            image[0, 0, 0, :] = 0.0
            image[0, 0, 1, :] = 255.0
            yield [image]

    return gen


def _convert(
    converter: tf.lite.TFLiteConverter, representative: Callable[[], Iterator[list[NDArray[np.float32]]]]
) -> bytes:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.int8
    tflite: bytes = converter.convert()
    return tflite


def check_int8(tflite: bytes) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    scale, zero = detail["quantization"]
    if detail["dtype"] != np.uint8 or abs(scale - 1.0) > 1e-3 or zero != 0:
        raise ExportError(f"input is {detail['dtype']} scale {scale} zero point {zero}, expected uint8 1.0 0")
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    islands = ops & FLOAT_ISLAND_OPS
    if islands:
        raise ExportError(f"float ops in the int8 graph: {sorted(islands)} (all ops: {sorted(ops)})")
