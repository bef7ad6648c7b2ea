"""The one loader of a ``.tflite`` model: LiteRT (``ai_edge_litert``, the maintained successor) where it is
installed, else ``tflite_runtime`` (the ``tflite`` extra, for machines where only it exists). One thread by
default: the Pi's other cores serve the node, the kiosk and sync.

``load`` builds a fresh interpreter and checks it against the bundle's spec (one image of
``size x size x 3`` in, one embedding of ``embeddingDim`` out); ``BadModel`` when it cannot be built or does not
fit. An ``Interpreter`` is not thread-safe: ``Embedder`` holds a lock around each call.
"""

import importlib
from typing import Any, Literal

import numpy as np

from edge.recognition.bundle import ModelSpec
from edge.recognition.errors import BadModel

Backend = Literal["ai_edge_litert", "tflite_runtime"]
BACKENDS: tuple[Backend, ...] = ("ai_edge_litert", "tflite_runtime")
_DTYPES = {"uint8": np.uint8, "int8": np.int8}


def interpreter_class(backend: Backend | None = None) -> tuple[Backend, Any]:
    """The Interpreter class of ``backend``, or of the first installed one; ImportError when none is."""
    tried: list[str] = []
    for name in (backend,) if backend else BACKENDS:
        try:
            module = importlib.import_module(f"{name}.interpreter")
        except ImportError as exc:
            tried.append(f"{name}: {exc}")
            continue
        return name, module.Interpreter
    raise ImportError("no TFLite runtime: install ai-edge-litert (or tflite-runtime); " + "; ".join(tried))


def load(tflite: bytes, spec: ModelSpec, *, threads: int = 1, backend: Backend | None = None) -> Any:
    """A fresh, allocated interpreter of ``tflite`` that matches ``spec``; ``BadModel`` otherwise."""
    _, cls = interpreter_class(backend)
    try:
        interpreter = cls(model_content=tflite, num_threads=threads)
        interpreter.allocate_tensors()
    except Exception as exc:  # each runtime raises its own (ValueError, RuntimeError, SystemError...)
        raise BadModel(f"the runtime cannot load model.tflite: {exc}") from exc
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise BadModel(f"the model has {len(inputs)} inputs and {len(outputs)} outputs, not 1 and 1")
    size = spec.input_size
    in_shape, in_dtype = [int(d) for d in inputs[0]["shape"]], inputs[0]["dtype"]
    if in_shape != [1, size, size, 3] or in_dtype != _DTYPES[spec.input_dtype]:
        raise BadModel(
            f"the model takes {in_shape} {np.dtype(in_dtype).name}, model.json says "
            f"[1, {size}, {size}, 3] {spec.input_dtype}"
        )
    out_shape, out_dtype = [int(d) for d in outputs[0]["shape"]], np.dtype(outputs[0]["dtype"])
    if out_shape != [1, spec.embedding_dim] or out_dtype.name not in ("float32", "int8", "uint8"):
        raise BadModel(
            f"the model gives {out_shape} {out_dtype.name}, model.json says [1, {spec.embedding_dim}]"
        )
    return interpreter
