"""What a training run is made of (no TensorFlow: the CLI builds it before importing TensorFlow)."""

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrainConfig:
    out: Path
    data_dir: Path
    products: int = 400
    held_out: int = 80
    shots: int = 10
    epochs: int = 18
    seed: int = 0
    size: int = 96
    embedding_dim: int = 96
    width: float = 1.0
    batch_size: int = 64
    learning_rate: float = 5e-3
    distractors: int = 400
    workers: int = 1
    threads: int = 2
    max_minutes: float = 30.0
    model_version: str | None = None

    def command(self) -> str:
        """The command line that makes this training again."""
        parts = ["edgestore train-recognizer", f"--out {self.out}", f"--data-dir {self.data_dir}"]
        defaults = TrainConfig(out=self.out, data_dir=self.data_dir)
        for key, value in asdict(self).items():
            if key in ("out", "data_dir", "workers", "threads", "model_version"):
                continue
            if value != getattr(defaults, key) or key in ("products", "epochs", "seed", "size"):
                parts.append(f"--{key.replace('_', '-')} {value}")
        return " ".join(parts)
