"""A tiny training run end to end: synthetic shots, Keras, int8 export, LiteRT evaluation, the bundle."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from edge.recognition.bundle import FORMAT, read_bundle_file
from edge.recognition.training.train_config import TrainConfig
from tests.conftest import REPO

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    from edge.recognition.training.train import train_recognizer

    folder = tmp_path_factory.mktemp("train")
    config = TrainConfig(
        out=folder / "tiny.zip", data_dir=folder / "data", products=6, held_out=4, shots=4, epochs=2,
        size=48, embedding_dim=32, width=0.5, batch_size=16, distractors=10, max_minutes=5,
        model_version="test-1",
    )  # fmt: skip
    lines: list[str] = []
    result = train_recognizer(config, lines.append)
    return config, result, lines


def test_the_bundle_holds_the_model_and_its_description(tiny_bundle):
    config, result, _ = tiny_bundle
    with zipfile.ZipFile(result.bundle) as zf:
        assert sorted(zf.namelist()) == ["model.json", "model.tflite"]
        meta = json.loads(zf.read("model.json"))
    assert meta["format"] == FORMAT == "edgestore-recognizer/1"
    assert meta["name"] == "product-recognizer"
    assert meta["modelVersion"] == "test-1"
    assert meta["input"] == {"size": 48, "dtype": "uint8", "colorOrder": "RGB", "resize": "center-crop"}
    assert meta["embeddingDim"] == 32
    assert isinstance(meta["unknownThreshold"], float)
    assert meta["calibration"]["kind"] == "platt"
    assert set(meta["calibration"]) == {"kind", "a", "b"}
    training = meta["training"]
    assert training["command"] == config.command()
    assert training["command"].startswith("edgestore train-recognizer --out ")
    assert training["seed"] == 0
    assert training["trainProducts"] == 6
    assert training["heldOutProducts"] == 4
    assert set(training["evaluation"]) == {"top1", "top3", "falseAccept"}
    spec = read_bundle_file(result.bundle).spec  # the node's reader: the checksum and every field check out
    assert spec.tflite_sha256 == meta["tfliteSha256"]
    assert (spec.model_version, spec.input_size, spec.embedding_dim) == ("test-1", 48, 32)
    assert spec.unknown_threshold == meta["unknownThreshold"]


def test_the_model_is_int8_and_gives_unit_embeddings_in_litert(tiny_bundle):
    from ai_edge_litert.interpreter import Interpreter

    _, result, _ = tiny_bundle
    bundle = read_bundle_file(result.bundle)
    interpreter = Interpreter(model_content=bundle.tflite)
    interpreter.allocate_tensors()
    source, sink = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert source["dtype"] == np.uint8
    assert list(source["shape"]) == [1, 48, 48, 3]
    assert sink["dtype"] == np.int8
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "L2_NORMALIZATION" in ops
    assert "DEQUANTIZE" not in ops  # no float island
    rng = np.random.default_rng(0)
    for _ in range(3):
        interpreter.set_tensor(source["index"], rng.integers(0, 256, size=(1, 48, 48, 3), dtype=np.uint8))
        interpreter.invoke()
        scale, zero = sink["quantization"]
        vector = (interpreter.get_tensor(sink["index"])[0].astype(np.float32) - zero) * scale
        assert vector.shape == (32,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=0.05)


def test_training_reports_its_progress(tiny_bundle):
    _, result, lines = tiny_bundle
    text = "\n".join(lines)
    assert "epoch 1/2" in text
    assert "epoch 2/2" in text
    assert "top-1" in text
    assert result.epochs_run == 2


def test_the_cli_does_not_import_tensorflow_until_training_runs():
    code = "import sys, edgestore.cli; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


def test_without_tensorflow_the_command_says_how_to_install_it(monkeypatch, tmp_path):
    import importlib.util

    from typer.testing import CliRunner

    from edgestore.cli import app

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorflow" else real_find_spec(name, *a),
    )
    result = CliRunner().invoke(app, ["train-recognizer", "--out", str(tmp_path / "m.zip")])
    assert result.exit_code == 2
    assert "pip install 'edgestore[train]'" in result.output
    assert not (tmp_path / "m.zip").exists()
