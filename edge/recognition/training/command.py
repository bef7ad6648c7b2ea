"""``edgestore train-recognizer``: train the product recognizer on synthetic products and write its bundle.

This module imports no TensorFlow: the command imports it when it runs, so ``edgestore --help`` stays fast
and a node without the ``train`` extra still has its CLI.
"""

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from edge.recognition.training.train_config import TrainConfig

INSTALL_HINT = "TensorFlow is not installed: install the train extra: pip install 'edgestore[train]'"


def train_recognizer(
    out: Annotated[Path, typer.Option(help="Where to write the model bundle (.zip).")],
    data_dir: Annotated[
        Path,
        typer.Option(help="Working folder: the generated sets' cache, Keras's home and temporary files."),
    ] = Path(".recognizer-data"),
    products: Annotated[
        int, typer.Option(help="Synthetic products to train on (each has 2-5 variants).")
    ] = 400,
    held_out: Annotated[int, typer.Option(help="Products never trained on: half calibrate, half test.")] = 80,
    shots: Annotated[int, typer.Option(help="Kiosk-camera shots generated per training variant.")] = 10,
    epochs: Annotated[int, typer.Option(help="Passes over the training shots.")] = 18,
    seed: Annotated[int, typer.Option(help="Seed of the product split, the shots and the training.")] = 0,
    size: Annotated[int, typer.Option(help="Model input, px (square).")] = 96,
    embedding_dim: Annotated[int, typer.Option(help="Embedding dimensions.")] = 96,
    width: Annotated[float, typer.Option(help="Width multiplier of the network's channels.")] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Shots per training step.")] = 64,
    learning_rate: Annotated[
        float, typer.Option(help="Peak learning rate (cosine decay after warm-up).")
    ] = 5e-3,
    distractors: Annotated[int, typer.Option(help="Objects in no catalog shown in evaluation.")] = 400,
    workers: Annotated[int, typer.Option(help="Processes generating the synthetic shots.")] = 1,
    threads: Annotated[int, typer.Option(help="TensorFlow's threads (at most the cores you may use).")] = 2,
    max_minutes: Annotated[float, typer.Option(help="Stop training after this many minutes.")] = 30.0,
    model_version: Annotated[
        str | None, typer.Option(help="The bundle's modelVersion (default: date-sha).")
    ] = None,
) -> None:
    """Train the product recognizer on synthetic products (no download) and write its bundle."""
    if importlib.util.find_spec("tensorflow") is None:
        typer.echo(INSTALL_HINT, err=True)
        raise typer.Exit(code=2)
    config = TrainConfig(
        out=out, data_dir=data_dir, products=products, held_out=held_out, shots=shots, epochs=epochs,
        seed=seed, size=size, embedding_dim=embedding_dim, width=width, batch_size=batch_size,
        learning_rate=learning_rate, distractors=distractors, workers=workers, threads=threads,
        max_minutes=max_minutes, model_version=model_version,
    )  # fmt: skip
    from edge.recognition.training.train import train_recognizer as train

    result = train(config, typer.echo)
    ev = result.evaluation
    typer.echo(
        f"done: top-1 {ev.top1:.3f}, top-3 {ev.top3:.3f}, false accepts {ev.false_accept:.3f};"
        f" trained {result.epochs_run} epochs in {result.train_seconds / 60:.1f} min; {result.bundle}"
    )
