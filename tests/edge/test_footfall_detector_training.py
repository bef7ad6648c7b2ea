"""A tiny training run of the door counter's person detector end to end: generated frames with their
heatmaps, Keras, the int8 export, then the exported model loaded by the node's LiteRT loader and the door
counter validated with it. The shipped model is trained the same way, longer (docs/footfall.md)."""

from pathlib import Path

import numpy as np
import pytest

from edge.footfall.person_detector import GRID, INPUT_SIZE, PersonDetector

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")


def test_a_tiny_training_exports_a_model_the_node_loads(tmp_path: Path):
    from edge.footfall.detector_training import DetectorTraining, train_person_detector, validate

    said: list[str] = []
    config = DetectorTraining(
        out=tmp_path / "pd.tflite",
        seeds=range(0, 1),
        frames_per_sequence=4,
        epochs=1,
        batch_size=64,  # more than the 48 frames: one smaller batch (a run this small once never ended)
        width=0.5,
    )
    model = train_person_detector(config, said.append)
    assert config.out.read_bytes() == model
    assert any(s.startswith("epoch 1/1") for s in said)
    assert any("wrote" in s for s in said)

    detector = PersonDetector(model)
    heat = detector.heatmap(np.zeros((INPUT_SIZE[1], INPUT_SIZE[0], 3), np.uint8))
    assert heat.shape == (GRID[1], GRID[0])
    assert heat.dtype == np.float32
    assert 0.0 <= float(heat.min()) <= float(heat.max()) <= 1.0

    acc_in, acc_out = validate(model, range(1, 2), said.append)
    assert said[-1].startswith("validation: 1/1 seeds")
    assert acc_in <= 1.0
    assert acc_out <= 1.0
