"""Train the embedder on synthetic products, export it as a full-integer int8 TFLite model, measure it with
LiteRT on held-out products, and write the bundle (docs/recognition.md).

Nothing here reaches for a network: ``KERAS_HOME`` and ``TMPDIR`` point into the data folder, and the
network is built from scratch (no pretrained weights).
"""

import hashlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.recognition.synthetic import dataset_split
from edge.recognition.training.bundle import model_json, write_bundle
from edge.recognition.training.data import TRAIN_STREAM, ShotSet, shot_set
from edge.recognition.training.evaluate import Evaluation, evaluate
from edge.recognition.training.train_config import TrainConfig

Say = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    bundle: Path
    evaluation: Evaluation
    train_seconds: float
    total_seconds: float
    epochs_run: int
    tflite_bytes: int


def _offline_environment(data_dir: Path) -> None:
    """Keras caches and temporary files in the data folder; quiet TensorFlow's C++ log."""
    (data_dir / "keras").mkdir(parents=True, exist_ok=True)
    (data_dir / "tmp").mkdir(parents=True, exist_ok=True)
    os.environ["KERAS_HOME"] = str(data_dir / "keras")
    os.environ["TMPDIR"] = str(data_dir / "tmp")
    tempfile.tempdir = str(data_dir / "tmp")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _augment(image: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    """A little more camera variety on top of the shot's own: zoom, turn, shift, exposure."""
    size = image.shape[0]
    scale = rng.uniform(0.88, 1.12)
    angle = rng.uniform(-12, 12)
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-0.06, 0.06, size=2) * size
    out = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    gain, bias = rng.uniform(0.85, 1.15), rng.uniform(-15, 15)
    return np.asarray(np.clip(out.astype(np.float32) * gain + bias, 0, 255), dtype=np.uint8)


def _batches(
    data: ShotSet, batch_size: int, seed: int
) -> Iterator[tuple[NDArray[np.float32], NDArray[np.int32]]]:
    rng = np.random.default_rng([seed, 0xBA7C])
    while True:
        order = rng.permutation(len(data.labels))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[start : start + batch_size]
            images = np.stack([_augment(data.images[i], rng) for i in idx]).astype(np.float32)
            yield images, data.labels[idx]


def _representative(
    data: ShotSet, count: int, seed: int
) -> Callable[[], Iterator[list[NDArray[np.float32]]]]:
    """Calibration pictures for the int8 converter (``export_int8`` gives each a 0 and a 255 pixel)."""
    rng = np.random.default_rng([seed, 0x4E9])
    picks = rng.choice(len(data.labels), size=min(count, len(data.labels)), replace=False)

    def gen() -> Iterator[list[NDArray[np.float32]]]:
        for i in picks:
            yield [data.images[i].astype(np.float32)[None]]

    return gen


def train_recognizer(config: TrainConfig, say: Say) -> TrainResult:
    started = time.monotonic()
    _offline_environment(config.data_dir)
    cache = config.data_dir / "cache"
    split = dataset_split(config.products, config.held_out, config.seed)
    say(
        f"generating {config.shots} shots of every variant of {config.products} training products at {config.size} px"
    )
    # Before TensorFlow is imported: a generator pool started after it would share its threads' state.
    data = shot_set(
        split.train, config.shots, config.size, TRAIN_STREAM, cache_dir=cache, workers=config.workers, say=say
    )
    import keras
    import tensorflow as tf

    from edge.recognition.training.export import export_int8
    from edge.recognition.training.model import CosineHead, cosface_loss, embedder, limit_threads

    limit_threads(config.threads)
    keras.utils.set_random_seed(config.seed)
    classes = len(data.variants)
    say(f"training set: {len(data.labels)} shots of {classes} variants ({time.monotonic() - started:.0f} s)")

    model = embedder(config.size, config.embedding_dim, config.width)
    cosines = CosineHead(classes, name="head")(model.output)
    trainer = keras.Model(model.input, cosines)
    steps = max(1, len(data.labels) // config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate * 0.1,
        decay_steps=steps * config.epochs,
        alpha=0.02,
        warmup_target=config.learning_rate,
        warmup_steps=min(steps, max(1, steps * config.epochs // 10)),
    )
    trainer.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=5e-5), loss=cosface_loss())
    say(
        f"model: {model.count_params():,} parameters, {config.embedding_dim}-d embedding; {steps} steps an epoch"
    )
    progress = _Progress(say, steps, config.epochs, config.max_minutes * 60)
    train_started = time.monotonic()
    batches = tf.data.Dataset.from_generator(
        lambda: _batches(data, config.batch_size, config.seed),
        output_signature=(
            tf.TensorSpec((config.batch_size, config.size, config.size, 3), tf.float32),
            tf.TensorSpec((config.batch_size,), tf.int32),
        ),
    ).prefetch(2)
    trainer.fit(
        batches,
        steps_per_epoch=steps,
        epochs=config.epochs,
        verbose=0,
        shuffle=False,  # the batches are shuffled already (and Keras warns otherwise)
        callbacks=[progress.callback(keras)],
    )
    train_seconds = time.monotonic() - train_started
    with warnings.catch_warnings():
        # Keras 3.15's saving hands numpy 2.4 an array without the `copy` keyword (a DeprecationWarning).
        warnings.simplefilter("ignore", DeprecationWarning)
        model.save(config.data_dir / "embedder.keras")  # the float model, to export or study again

    say("exporting int8 (full integer, uint8 input)")
    tflite = export_int8(model, config.size, _representative(data, 300, config.seed))
    say(f"  model.tflite: {len(tflite) / 1024:.0f} KiB")
    say(
        f"evaluating with LiteRT on {config.held_out} held-out products and {config.distractors} objects in no catalog"
    )
    evaluation = evaluate(
        tflite,
        config.size,
        config.embedding_dim,
        split.held_out,
        distractors=config.distractors,
        cache_dir=cache,
        workers=config.workers,
        say=say,
    )
    say(
        f"  top-1 {evaluation.top1:.3f}  top-3 {evaluation.top3:.3f}  false accepts {evaluation.false_accept:.3f}"
        f"  (right and accepted {evaluation.known_accepted:.3f}, wrong yet accepted {evaluation.known_wrong_accepted:.3f})"
    )
    version = config.model_version or (
        f"{datetime.now(UTC):%Y.%m.%d}-{hashlib.sha256(tflite).hexdigest()[:8]}"
    )
    training: dict[str, Any] = {
        "command": config.command(),
        "seed": config.seed,
        "tensorflow": tf.__version__,
        "trainProducts": config.products,
        "heldOutProducts": config.held_out,
        "evaluation": {
            "top1": round(evaluation.top1, 4),
            "top3": round(evaluation.top3, 4),
            "falseAccept": round(evaluation.false_accept, 4),
        },
    }
    meta = model_json(
        model_version=version,
        size=config.size,
        input_dtype="uint8",
        embedding_dim=config.embedding_dim,
        unknown_threshold=evaluation.threshold,
        platt_a=evaluation.platt_a,
        platt_b=evaluation.platt_b,
        tflite=tflite,
        training=training,
    )
    write_bundle(config.out, tflite, meta)
    total = time.monotonic() - started
    say(f"wrote {config.out} ({config.out.stat().st_size / 1024:.0f} KiB) in {total / 60:.1f} min")
    return TrainResult(config.out, evaluation, train_seconds, total, progress.epochs_done, len(tflite))


class _Progress:
    """Prints the epochs and steps, and stops the training when its time budget is spent."""

    def __init__(self, say: Say, steps: int, epochs: int, budget_seconds: float) -> None:
        self.say, self.steps, self.epochs, self.budget = say, steps, epochs, budget_seconds
        self.epochs_done = 0
        self.started = time.monotonic()
        self.losses: list[float] = []

    def callback(self, keras: Any) -> Any:
        progress = self

        class Callback(keras.callbacks.Callback):  # type: ignore[misc]  # keras ships no type information
            def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
                progress.losses.append(float((logs or {}).get("loss", float("nan"))))
                if (batch + 1) % max(1, progress.steps // 4) == 0 and batch + 1 < progress.steps:
                    progress.say(
                        f"  epoch {progress.epochs_done + 1} step {batch + 1}/{progress.steps} loss {np.mean(progress.losses[-20:]):.3f}"
                    )
                if time.monotonic() - progress.started > progress.budget:
                    self.model.stop_training = True

            def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                progress.epochs_done = epoch + 1
                elapsed = time.monotonic() - progress.started
                progress.say(
                    f"epoch {epoch + 1}/{progress.epochs}: loss {(logs or {}).get('loss', float('nan')):.3f}"
                    f" ({elapsed / 60:.1f} min)"
                )
                if elapsed > progress.budget and epoch + 1 < progress.epochs:
                    progress.say(f"stopping: the time budget ({progress.budget / 60:.0f} min) is spent")

        return Callback()
