"""Training the door counter's person detector (``edgestore footfall train-detector``; the ``train`` extra).

Data: frames of the generated doors (``synthetic``) of every scenario on the tuning seeds only, so the
benchmark's held-out seeds stay unseen; each frame at the detector's input size with its truth, a heatmap of
one Gaussian per person at their shoulders (CenterNet's targets: 1 at the person's cell, falling off over
about one cell). Flipped left-right and top-bottom at random (a door seen either way round).

Network (``heatmap_net``): the recognizer's MobileNet blocks (``edge.recognition.training.model``) down to
1/8 of the input, three more blocks at that scale (one dilated, so a cell sees a whole person with bags or a
pram: ~90 input pixels), then a 1x1 convolution to a sigmoid. Trained with CenterNet's focal loss (a few
positive cells among many negatives), exported full int8 like the recognizer (``export_int8``).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from edge.footfall.evaluation import Tally, count_sequence
from edge.footfall.person_detector import INPUT_SIZE, PersonDetector, target_heatmap
from edge.footfall.pipeline import DoorCounter
from edge.footfall.synthetic import DOOR_LINE, SCENARIOS, TUNING_SEEDS, door_sequence
from edge.recognition.training.export import export_int8
from edge.recognition.training.model import BN_MOMENTUM, conv_bn, limit_threads, separable_block

Say = Callable[[str], None]


@dataclass(frozen=True)
class DetectorTraining:
    out: Path
    seeds: range = TUNING_SEEDS
    frames_per_sequence: int = 14
    epochs: int = 14
    batch_size: int = 64
    width: float = 1.0
    seed: int = 7
    threads: int = 2  # TensorFlow's (at most the cores you may use)


def frames_with_truth(
    seeds: range, per_sequence: int, rng: np.random.Generator, say: Say
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Frames of every scenario on ``seeds`` at the input size, three in four with someone in view."""
    images: list[NDArray[np.uint8]] = []
    targets: list[NDArray[np.float32]] = []
    scale = INPUT_SIZE[0] / 320
    total = len(seeds) * len(SCENARIOS)
    done = 0
    for seed in seeds:
        for scenario in SCENARIOS:
            seq = door_sequence(scenario, seed)
            length = len(seq.frames)
            busy = [f for f in range(length) if seq.people_at(f)]
            picks = rng.choice(busy, size=min(len(busy), per_sequence * 3 // 4), replace=False).tolist()
            picks += rng.integers(0, length, size=per_sequence - len(picks)).tolist()
            for f in picks:
                images.append(
                    np.asarray(
                        cv2.resize(seq.frames.frame(f), INPUT_SIZE, interpolation=cv2.INTER_AREA), np.uint8
                    )
                )
                targets.append(target_heatmap([(x * scale, y * scale) for x, y in seq.people_at(f)]))
            done += 1
            if done % 60 == 0 or done == total:
                say(f"frames drawn: {done}/{total} sequences, {len(images)} frames")
    return np.stack(images), np.stack(targets)[..., None]


def heatmap_net(width: float = 1.0) -> keras.Model:
    """uint8-range BGR frames (float 0-255, INPUT_SIZE) in, a GRID heatmap of person centres out."""
    w, h = INPUT_SIZE
    inputs = keras.Input((h, w, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inputs)
    x = conv_bn(x, max(8, int(16 * width)), 3, 2, "stem")
    for k, (filters, stride) in enumerate(((24, 2), (24, 1), (40, 2), (40, 1))):
        x = separable_block(x, max(8, int(filters * width)), stride, f"b{k}")
    # A dilated depthwise convolution: the cell sees the person's whole outline and what they carry.
    y = keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same", use_bias=False, name="ctx_dw")(x)
    y = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name="ctx_dw_bn")(y)
    y = keras.layers.ReLU(6.0, name="ctx_dw_relu")(y)
    y = keras.layers.Conv2D(max(8, int(40 * width)), 1, use_bias=False, name="ctx_pw")(y)
    y = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name="ctx_pw_bn")(y)
    x = keras.layers.Add(name="ctx_add")([x, y])
    x = separable_block(x, max(8, int(40 * width)), 1, "b4")
    # The bias starts at a low prior (0.01), as CenterNet's does: otherwise the many negatives swamp the
    # first steps.
    x = keras.layers.Conv2D(
        1, 1, name="heat", bias_initializer=keras.initializers.Constant(-4.6), activation="sigmoid"
    )(x)
    return keras.Model(inputs, x, name="person_detector")


def focal_loss(target: tf.Tensor, predicted: tf.Tensor) -> tf.Tensor:
    """CenterNet's penalty-reduced focal loss over the heatmap, per positive cell."""
    p = tf.clip_by_value(predicted, 1e-4, 1 - 1e-4)
    positive = tf.cast(tf.equal(target, 1.0), p.dtype)
    pos = positive * tf.pow(1 - p, 2) * tf.math.log(p)
    neg = (1 - positive) * tf.pow(1 - target, 4) * tf.pow(p, 2) * tf.math.log(1 - p)
    count = tf.maximum(tf.reduce_sum(positive), 1.0)
    return -(tf.reduce_sum(pos) + tf.reduce_sum(neg)) / count


def _batches(
    images: NDArray[np.uint8], targets: NDArray[np.float32], batch: int, rng: np.random.Generator
) -> Iterator[tuple[NDArray[np.float32], NDArray[np.float32]]]:
    batch = min(batch, len(images))  # a run with fewer frames than a batch still has one batch
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(order) - batch + 1, batch):
            idx = order[start : start + batch]
            x = images[idx].astype(np.float32)
            y = targets[idx].copy()
            if rng.random() < 0.5:
                x, y = x[:, :, ::-1], y[:, :, ::-1]
            if rng.random() < 0.5:
                x, y = x[:, ::-1], y[:, ::-1]
            # Light: the door's own changes are in the frames; a little more, per frame.
            x = np.clip(x * rng.uniform(0.8, 1.2, size=(len(idx), 1, 1, 1)), 0, 255)
            yield np.ascontiguousarray(x), np.ascontiguousarray(y)


def train_person_detector(config: DetectorTraining, say: Say) -> bytes:
    """Train, export int8 and write ``config.out``; the .tflite bytes."""
    rng = np.random.default_rng(config.seed)
    limit_threads(config.threads)
    keras.utils.set_random_seed(config.seed)
    started = time.monotonic()
    images, targets = frames_with_truth(config.seeds, config.frames_per_sequence, rng, say)
    model = heatmap_net(config.width)
    steps = max(1, len(images) // min(config.batch_size, len(images)))
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=steps * config.epochs, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=focal_loss)

    class Progress(keras.callbacks.Callback):  # type: ignore[misc]  # keras ships no type information
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            loss = (logs or {}).get("loss", float("nan"))
            say(f"epoch {epoch + 1}/{config.epochs}: loss {loss:.3f} ({time.monotonic() - started:.0f} s)")

    model.fit(
        _batches(images, targets, config.batch_size, rng),
        steps_per_epoch=steps,
        epochs=config.epochs,
        verbose=0,
        shuffle=False,  # the generator shuffles
        callbacks=[Progress()],
    )

    def representative() -> Iterator[list[NDArray[np.float32]]]:
        for i in rng.choice(len(images), size=min(200, len(images)), replace=False):
            yield [images[i : i + 1].astype(np.float32)]

    say("exporting int8")
    tflite = export_int8(model, (INPUT_SIZE[1], INPUT_SIZE[0]), representative)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_bytes(tflite)
    say(f"wrote {config.out} ({len(tflite) / 1024:.0f} KiB) in {time.monotonic() - started:.0f} s")
    return tflite


def validate(model: bytes, seeds: range, say: Say) -> tuple[float, float]:
    """(in, out) accuracy of the door counter with ``model`` (through LiteRT, as the node runs it) over
    every scenario on ``seeds``."""
    tally = Tally()
    for n, seed in enumerate(seeds, 1):
        for scenario in SCENARIOS:
            counter = DoorCounter(DOOR_LINE, detector="tflite", person_detector=PersonDetector(model))
            tally.add(count_sequence(scenario, seed, counter))
        say(f"validation: {n}/{len(seeds)} seeds, in {tally.acc_in:.1%}, out {tally.acc_out:.1%}")
    return tally.acc_in, tally.acc_out
