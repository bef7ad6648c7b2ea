"""Benchmark the store node's product recognition (issue 18): how often it names the right variant, how
often it turns away what no catalog holds, and how long one recognition takes, with the node's own code.

Everything runs through ``edge.recognition`` as ``POST /recognize`` and enrolment do
(``edge/recognition/service.py``): ``read_bundle_file`` and ``Embedder.load`` load the model,
``references.downscale`` keeps an enrolment photo as the node keeps it, ``Embedder.embed`` decodes JPEG
bytes, crops, resizes and runs the interpreter, ``Index.build`` / ``Index.search`` rank the variants and
apply the model's ``unknownThreshold``. No TensorFlow: this runs on a node's dependencies.

1. Reads the bundle (default: the shipped one) and its ``model.json`` ``training`` block: the split seed and
   the numbers of training and held-out products, so ``dataset_split`` gives back exactly the products the
   model never saw (``--seed``, ``--train-products``, ``--held-out-products`` when the bundle lacks them).
2. Enrols every variant of the held-out products ("never trained") and of a seeded sample of the training
   products ("trained") from ``--enrol`` kiosk shots each, all in one index, as a store would. The shots
   come from seed streams the training never used (its streams are 11, 22, 33, 44), so even a trained
   product is enrolled and queried with pictures the model has not seen.
3. Queries ``--queries`` other shots of every variant as the kiosk sends them, its *query frame*: the
   shot's centre square at the model's input side (96 px), an uncompressed BMP, cut from the shot's pixels
   by the kiosk's own code
   (``kiosk_ui.hardware.query_frame.query_from_pixels``, what ``OpenCvCamera.capture_frame`` does); and,
   for comparison, the whole shot as the kiosk sent it before. Counts: the nearest variant right (top-1),
   the right one among the 3 nearest (top-3), and the node's answer: right, ``unknown`` (below the
   threshold), or wrong (a confident wrong answer, the worst outcome). Enrolment photos stay whole shots:
   staff enrol with the camera's shown still (``Camera.capture``), which the node downscales and keeps.
4. Queries ``--distractors`` objects in no catalog (``distractor(seed)``, seeds no training or calibration
   used), query frames and whole shots alike: any answer but ``unknown`` is a false accept.
5. Times, for 1 and 2 interpreter threads, ``--calls`` recognitions end to end of the query frames the
   kiosk makes from camera-sized frames (``FRAME_SIZE``, 640x480, like the kiosk's cameras) and, in the
   same loop, of those 640x480 frames themselves as JPEG quality 90 (what the kiosk sent before): decode +
   preprocess + embed (``Embedder.embed``) + ``Index.search`` over ``--references`` reference embeddings
   (the enrolled ones padded with random unit vectors under made-up variant ids, ``--enrol`` per variant:
   the search costs the same whatever the vectors hold), next to the bare interpreter call (set the input,
   invoke, read the output; pixels ready), interleaved so all see the same machine. Median and p95 after
   ``--warmup`` calls, with time.perf_counter_ns.

Prints progress to stderr, then the machine (with the load average at start and end: the machine may be
shared), the figures beside the issue's goals and a Markdown block for docs/performance.md. Exits 0 when
measured (a goal missed is a figure, not a failure), 2 when the bundle does not load, 130 when interrupted.

Run from the repository root::

    .venv/bin/python bench/recognition.py              # the shipped model (about 2 minutes on 2 cores)
    .venv/bin/python bench/recognition.py --quick      # a smoke run in about 20 s
    .venv/bin/python bench/recognition.py --bundle /path/to/other.zip --workers 2
"""

import argparse
import io
import json
import random
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from benchkit import (
    code_line,
    host_lines,
    log,
    percentile,
    run_main,
    stop_on_signals,
)
from PIL import Image

from edge.recognition import references
from edge.recognition.bundle import ModelSpec, read_bundle_file
from edge.recognition.embedder import Embedder, decode
from edge.recognition.errors import BadModel
from edge.recognition.index import Index
from edge.recognition.preprocess import center_crop_resize
from edge.recognition.service import SHIPPED_BUNDLE
from edge.recognition.synthetic import (
    SHOT_SIZE,
    dataset_split,
    distractor,
    kiosk_shot,
    product_image,
    variant_count,
)
from kiosk_ui.hardware.query_frame import QUERY_SIDE, query_from_pixels

ROOT = Path(__file__).resolve().parent.parent
# Seed streams of this benchmark's shots: the training's are 11 (train), 22 (enrol), 33 (query), 44
# (distractors), so none of these pictures was ever shown to the model or its calibration.
ENROL_STREAM, QUERY_STREAM, DISTRACTOR_STREAM, FRAME_STREAM = 0xBE_C1, 0xBE_C2, 0xBE_C3, 0xBE_C4
# Distractor seeds: the training's evaluation uses 0.. and 10**6.., the tests 5000..5060.
FIRST_DISTRACTOR = 3_000_000
TRAINED_SAMPLE_SEED = 0x7A1_BE
FRAME_SIZE = (640, 480)  # the kiosk's OpenCvCamera and PiCamera default
JPEG_QUALITY = 90  # the kiosk's OpenCvCamera
QUERY, WHOLE = "query frame", "whole frame"  # what the kiosk sends now, and what it sent before
GOAL_TOP1, GOAL_FALSE_ACCEPT, GOAL_MEDIAN_MS, GOAL_RATIO = 0.97, 0.01, 10.0, 2.0

T = TypeVar("T")
R = TypeVar("R")


# ---------------------------------------------------------------------------------------------- pictures


def jpeg(picture: Image.Image | npt.NDArray[np.uint8], quality: int = JPEG_QUALITY) -> bytes:
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


@dataclass(frozen=True)
class Shot:
    """One camera frame as the kiosk has it: the whole frame as JPEG (what the screen shows, what staff
    enrol, what the kiosk sent the recogniser before) and the query frame the kiosk's code cuts from its
    pixels (what ``Scan.look`` sends now)."""

    whole: bytes
    query: bytes

    def sent(self, path: str) -> bytes:
        return self.query if path == QUERY else self.whole


def camera_shot(picture: Image.Image) -> Shot:
    rgb = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    return Shot(jpeg(picture), query_from_pixels(np.ascontiguousarray(rgb[:, :, ::-1])))  # OpenCV's BGR


def variant_shots(job: tuple[int, int, int, int, int, int, int]) -> list[Shot]:
    """``count`` kiosk shots (numbered from ``first``) of one variant, ``width`` x ``height``."""
    product, variant, stream, first, count, width, height = job
    picture = product_image(product, variant)
    return [
        camera_shot(
            kiosk_shot(picture, np.random.default_rng([stream, product, variant, first + k]), (width, height))
        )
        for k in range(count)
    ]


def distractor_shot(seed: int) -> Shot:
    return camera_shot(kiosk_shot(distractor(seed), np.random.default_rng([DISTRACTOR_STREAM, seed, 0])))


def generate(fn: Callable[[T], R], jobs: Sequence[T], workers: int, what: str) -> list[R]:
    """``fn`` over ``jobs`` in this process or in ``workers`` spawned ones, with progress every 10 %."""
    out: list[R] = []
    step = max(1, len(jobs) // 10)
    started = time.monotonic()

    def progress(results: Iterable[R]) -> list[R]:
        for k, result in enumerate(results, 1):
            out.append(result)
            if k % step == 0 or k == len(jobs):
                log(f"  {what}: {k}/{len(jobs)} ({time.monotonic() - started:.0f} s)")
        return out

    if workers <= 1:
        return progress(fn(job) for job in jobs)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return progress(pool.map(fn, jobs, chunksize=4))


# ---------------------------------------------------------------------------------------------- accuracy


@dataclass
class Tally:
    """Queries of one group of enrolled variants (or of distractors), as the node answered them."""

    queries: int = 0
    top1: int = 0  # the nearest variant is right (threshold not applied)
    top3: int = 0  # the right variant is among the 3 nearest
    right: int = 0  # the node's answer (threshold applied) names the right variant
    unknown: int = 0  # the node answers unknown
    wrong: int = 0  # the node names another variant: a confident wrong answer

    def share(self, count: int) -> float:
        return count / self.queries if self.queries else float("nan")


@dataclass(frozen=True)
class Catalog:
    label: str
    products: tuple[int, ...]

    @property
    def variants(self) -> list[tuple[int, int]]:
        return [(p, v) for p in self.products for v in range(variant_count(p))]


def variant_id(product: int, variant: int) -> str:
    return f"{product}-{variant}"


def ask(embedder: Embedder, index: Index, image: bytes, expected: str | None, tally: Tally) -> float:
    """One query the node's way; counts it in ``tally``; the best similarity."""
    query = embedder.embed(image)
    ranked = index.search(query, replace(embedder.spec, unknown_threshold=-1.0), 3)  # the ranking alone
    answer = index.search(query, embedder.spec, 3)  # what the node answers
    nearest = [m.variant_id for m in ranked.matches]
    tally.queries += 1
    tally.top1 += int(bool(nearest) and nearest[0] == expected)
    tally.top3 += int(expected in nearest)
    if answer.unknown:
        tally.unknown += 1
    elif answer.matches[0].variant_id == expected:
        tally.right += 1
    else:
        tally.wrong += 1
    return float(ranked.best_similarity if ranked.best_similarity is not None else -1.0)


# ---------------------------------------------------------------------------------------------- timing


@dataclass
class PathTiming:
    """What one kind of picture (``QUERY`` or ``WHOLE``) costs the node."""

    e2e_ms: list[float] = field(default_factory=list)
    decode_ms: list[float] = field(default_factory=list)
    preprocess_ms: list[float] = field(default_factory=list)


@dataclass
class Timing:
    threads: int
    bare_ms: list[float] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    paths: dict[str, PathTiming] = field(default_factory=lambda: {QUERY: PathTiming(), WHOLE: PathTiming()})


def bare_call(interpreter: Any, batch: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
    """The interpreter alone, pixels ready: set the input, invoke, read the output."""
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
    interpreter.invoke()
    return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


def padded_index(index: Index, size: int, dim: int, per_variant: int, seed: int) -> Index:
    """``index`` padded to ``size`` rows with random unit vectors, ``per_variant`` rows per made-up variant."""
    extra = max(0, size - len(index))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((extra, dim)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    ids = [f"pad-{k // per_variant}" for k in range(extra)]
    rows = list(zip(index.variant_ids, index.matrix, strict=True)) + list(zip(ids, noise, strict=True))
    return Index.build(rows, dim)


def measure(
    bundle_spec: ModelSpec,
    load: Callable[[int], Embedder],
    threads: int,
    frames: list[Shot],
    index: Index,
    calls: int,
    warmup: int,
) -> Timing:
    """Per call, interleaved: the query frame end to end, the bare interpreter call, the whole frame end to
    end, then each one's decode and preprocessing and the search timed apart."""
    embedder = load(threads)
    size = embedder.spec.input_size
    pixels = [center_crop_resize(decode(f.query, at_least=size), size)[np.newaxis, ...] for f in frames]
    timing = Timing(threads)
    clock = time.perf_counter_ns

    def end_to_end(image: bytes) -> tuple[npt.NDArray[np.float32], float]:
        t0 = clock()
        vector = embedder.embed(image)  # what Recognizer.recognize does, then the search
        index.search(vector, bundle_spec, 3)
        return vector, (clock() - t0) / 1e6

    def parts(image: bytes) -> tuple[float, float]:
        t0 = clock()
        rgb = decode(image, at_least=size)
        t1 = clock()
        center_crop_resize(rgb, size)
        return (t1 - t0) / 1e6, (clock() - t1) / 1e6

    for n in range(warmup + calls):
        shot, batch = frames[n % len(frames)], pixels[n % len(frames)]
        vector, query_ms = end_to_end(shot.query)
        t0 = clock()
        bare_call(embedder.interpreter, batch)
        bare_ms = (clock() - t0) / 1e6
        _, whole_ms = end_to_end(shot.whole)
        split = {path: parts(shot.sent(path)) for path in (QUERY, WHOLE)}
        t0 = clock()
        index.search(vector, bundle_spec, 3)
        search_ms = (clock() - t0) / 1e6
        if n >= warmup:
            timing.bare_ms.append(bare_ms)
            timing.search_ms.append(search_ms)
            for path, e2e_ms in ((QUERY, query_ms), (WHOLE, whole_ms)):
                timing.paths[path].e2e_ms.append(e2e_ms)
                timing.paths[path].decode_ms.append(split[path][0])
                timing.paths[path].preprocess_ms.append(split[path][1])
        if n + 1 == warmup + calls or (n >= warmup and (n - warmup + 1) % max(1, calls // 4) == 0):
            log(f"  {threads} thread(s): {max(0, n - warmup + 1)}/{calls} timed calls")
    for values in (timing.bare_ms, timing.search_ms):
        values.sort()
    for kind in timing.paths.values():
        for values in (kind.e2e_ms, kind.decode_ms, kind.preprocess_ms):
            values.sort()
    return timing


# ---------------------------------------------------------------------------------------------- the run


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def training_block(path: Path) -> dict[str, Any]:
    """``model.json``'s ``training`` block (read after ``read_bundle_file`` checked the bundle): where the model
    came from, which the node's ``ModelSpec`` does not carry."""
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("model.json"))
    training = meta.get("training")
    return training if isinstance(training, dict) else {}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the store node's product recognition: accuracy, false accepts, latency.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--bundle", type=Path, default=SHIPPED_BUNDLE, help="the model bundle (.zip)")
    parser.add_argument(
        "--seed", type=int, default=None, help="split seed (default: the bundle's training.seed)"
    )
    parser.add_argument("--train-products", type=int, default=None, help="default: training.trainProducts")
    parser.add_argument(
        "--held-out-products", type=int, default=None, help="default: training.heldOutProducts"
    )
    parser.add_argument("--held-out", type=int, default=None, help="use only the first N held-out products")
    parser.add_argument("--trained", type=int, default=80, help="training products sampled and enrolled")
    parser.add_argument("--enrol", type=int, default=6, help="kiosk shots enrolled per variant")
    parser.add_argument("--queries", type=int, default=4, help="other shots queried per variant")
    parser.add_argument("--distractors", type=int, default=1000, help="objects in no catalog queried")
    parser.add_argument(
        "--references", type=int, default=10_000, help="reference embeddings in the timed index"
    )
    parser.add_argument("--calls", type=int, default=1000, help="timed recognitions per thread count")
    parser.add_argument("--warmup", type=int, default=50, help="untimed recognitions first")
    parser.add_argument(
        "--frames", type=int, default=50, help="distinct camera frames the timing cycles through"
    )
    parser.add_argument("--threads", default="1,2", help="interpreter threads to time, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="processes generating the shots (not timed)")
    parser.add_argument("--quick", action="store_true", help="8 + 8 products, 50 distractors, 100 calls")
    args = parser.parse_args(argv)
    if args.quick:
        args.held_out, args.trained, args.distractors = 8, 8, 50
        args.calls, args.warmup, args.frames = 100, 10, 10
    args.threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    if min(args.enrol, args.queries, args.calls, args.frames) < 1 or args.distractors < 0 or not args.threads:
        parser.error("--enrol, --queries, --calls and --frames must be at least 1, --threads not empty")
    return args


def split_arguments(args: argparse.Namespace, training: dict[str, Any]) -> tuple[int, int, int]:
    seed = args.seed if args.seed is not None else training.get("seed")
    train = args.train_products if args.train_products is not None else training.get("trainProducts")
    held = args.held_out_products if args.held_out_products is not None else training.get("heldOutProducts")
    if not (isinstance(seed, int) and isinstance(train, int) and isinstance(held, int)):
        flags = {"--seed": seed, "--train-products": train, "--held-out-products": held}
        missing = ", ".join(flag for flag, value in flags.items() if not isinstance(value, int))
        raise SystemExit(
            f"{args.bundle}: model.json's training block does not say how the products were split; give {missing}"
        )
    return seed, train, held


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    load_start = loadavg()
    started = time.monotonic()
    try:
        bundle = read_bundle_file(args.bundle)
    except BadModel as exc:
        log(f"{args.bundle}: {exc.reason}")
        return 2
    spec = bundle.spec
    training = training_block(args.bundle)
    seed, train_products, held_out_products = split_arguments(args, training)
    split = dataset_split(train_products, held_out_products, seed)
    held_out = Catalog("never trained (held out)", split.held_out[: args.held_out])
    sample = sorted(
        random.Random(TRAINED_SAMPLE_SEED).sample(split.train, min(args.trained, len(split.train)))
    )
    trained = Catalog("trained", tuple(sample))
    catalogs = [held_out, trained]
    log(
        f"recognition benchmark: {args.bundle.name} ({spec.model_version}, {spec.input_size} px, "
        f"{spec.embedding_dim} dims, unknown below {spec.unknown_threshold}); split seed {seed}, "
        f"{train_products} training / {held_out_products} held-out products"
    )
    embedder = Embedder.load(bundle)  # one thread, as the node's default

    # Enrolment: every variant of both groups in one index, the node's way (downscale, embed).
    width, height = SHOT_SIZE
    variants = [(c.label, p, v) for c in catalogs for p, v in c.variants]
    total = args.enrol + args.queries
    log(
        f"generating {total} shots of each of {len(variants)} variants ({width}x{height}, JPEG q{JPEG_QUALITY})"
    )
    jobs = [(p, v, ENROL_STREAM, 0, total, width, height) for _, p, v in variants]
    shots = generate(variant_shots, jobs, args.workers, "variants")
    log("enrolling")
    rows: list[tuple[str, npt.NDArray[np.float32]]] = []
    for (_, p, v), images in zip(variants, shots, strict=True):
        rows.extend(
            (variant_id(p, v), embedder.embed(references.downscale(image.whole)))
            for image in images[: args.enrol]
        )
    index = Index.build(rows, spec.embedding_dim)
    log(f"  {len(index)} reference photos of {len(index.variants)} variants")

    # Queries: the other shots of every variant, then the distractors; as query frames and as whole shots.
    tallies = {(path, c.label): Tally() for path in (QUERY, WHOLE) for c in catalogs}
    for (label, p, v), images in zip(variants, shots, strict=True):
        for image in images[args.enrol :]:
            for path in (QUERY, WHOLE):
                ask(embedder, index, image.sent(path), variant_id(p, v), tallies[path, label])
    log(f"querying {args.distractors} objects in no catalog")
    strangers = generate(
        distractor_shot,
        list(range(FIRST_DISTRACTOR, FIRST_DISTRACTOR + args.distractors)),
        args.workers,
        "distractors",
    )
    unknowns = {path: Tally() for path in (QUERY, WHOLE)}
    stranger_best = {
        path: sorted(ask(embedder, index, image.sent(path), None, unknowns[path]) for image in strangers)
        for path in (QUERY, WHOLE)
    }

    # Timing.
    log(
        f"generating {args.frames} camera frames ({FRAME_SIZE[0]}x{FRAME_SIZE[1]}, JPEG q{JPEG_QUALITY}) and "
        f"their query frames ({QUERY_SIDE} px, BMP)"
    )
    frame_jobs = [
        (p, v, FRAME_STREAM, 0, 1, FRAME_SIZE[0], FRAME_SIZE[1])
        for _, p, v in variants[:: max(1, len(variants) // args.frames)][: args.frames]
    ]
    frames = [images[0] for images in generate(variant_shots, frame_jobs, args.workers, "frames")]
    timed_index = padded_index(index, args.references, spec.embedding_dim, args.enrol, seed)
    timings = [
        measure(
            spec, lambda n: Embedder.load(bundle, threads=n), t, frames, timed_index, args.calls, args.warmup
        )
        for t in args.threads
    ]
    load_end = loadavg()
    elapsed = time.monotonic() - started

    report(
        args, bundle.tflite, spec, training, (seed, train_products, held_out_products), catalogs, tallies,
        unknowns, stranger_best, len(index), len(index.variants), timed_index, frames, timings,
        (load_start, load_end), elapsed,
    )  # fmt: skip
    return 0


def report(
    args: argparse.Namespace,
    tflite: bytes,
    spec: ModelSpec,
    training: dict[str, Any],
    split: tuple[int, int, int],
    catalogs: list[Catalog],
    tallies: dict[tuple[str, str], Tally],
    unknowns: dict[str, Tally],
    stranger_best: dict[str, list[float]],
    refs: int,
    n_variants: int,
    timed_index: Index,
    frames: list[Shot],
    timings: list[Timing],
    loads: tuple[str, str],
    elapsed: float,
) -> None:
    bundle_bytes = args.bundle.stat().st_size
    seed, train_products, held_out_products = split
    print("Product recognition benchmark (bench/recognition.py)")
    print(f"date:          {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for line in host_lines():
        print(line)
    print(
        f"libraries:     ai-edge-litert {package_version('ai-edge-litert')}, numpy {np.__version__}, "
        f"opencv {package_version('opencv-python-headless')}, Pillow {package_version('pillow')}"
    )
    print(f"load average:  {loads[0]} at start, {loads[1]} at end (1, 5, 15 min)")
    print(f"code:          {code_line(ROOT)}")
    print(
        f"model:         {args.bundle} {spec.model_version}: bundle {bundle_bytes:,} bytes "
        f"({bundle_bytes / 1024:.0f} KiB), model.tflite {len(tflite):,} bytes ({len(tflite) / 1024:.0f} KiB); "
        f"{spec.input_size} px {spec.input_dtype} in, {spec.embedding_dim} dims, unknown below "
        f"{spec.unknown_threshold}"
    )
    print(
        f"split:         dataset_split({train_products}, {held_out_products}, seed={seed}) "
        f"({'from the bundle' if training else 'from the flags'}); {len(catalogs[0].products)} held-out "
        f"products and {len(catalogs[1].products)} sampled training products enrolled in one index: "
        f"{n_variants} variants, {refs} reference photos ({args.enrol} per variant, whole shots)"
    )
    print(
        f"shots:         kiosk_shot at {SHOT_SIZE[0]}x{SHOT_SIZE[1]}, JPEG q{JPEG_QUALITY}, seed streams the "
        f"training never used; {args.queries} queries per variant; {args.distractors} distractors "
        f"(seeds {FIRST_DISTRACTOR}..); each queried as the kiosk's query frame ({QUERY_SIDE} px centre "
        f"square, BMP) and as the whole shot"
    )
    print(
        f"timing:        {len(frames)} frames {FRAME_SIZE[0]}x{FRAME_SIZE[1]} JPEG q{JPEG_QUALITY} "
        f"(about {sum(len(f.whole) for f in frames) // len(frames) // 1024} KiB) and their query frames "
        f"({QUERY_SIDE}x{QUERY_SIDE} BMP, about {sum(len(f.query) for f in frames) // len(frames) // 1024} KiB), "
        f"index of {len(timed_index)} references "
        f"({refs} real + {len(timed_index) - refs} random unit vectors, {args.enrol} per made-up variant), "
        f"{args.calls} calls after {args.warmup} warm-up per thread count"
    )
    print(f"run time:      {elapsed:.0f} s")
    print()

    paths = (QUERY, WHOLE)
    header = (
        f"{'sent':<12} {'group':<26} {'queries':>7} {'top-1':>7} {'top-3':>7} {'answered right':>14} "
        f"{'unknown':>8} {'wrong':>7}"
    )
    print(header)
    print("-" * len(header))
    for path in paths:
        for c in catalogs:
            t = tallies[path, c.label]
            print(
                f"{path:<12} {c.label:<26} {t.queries:>7} {pct(t.share(t.top1)):>7} {pct(t.share(t.top3)):>7} "
                f"{pct(t.share(t.right)):>14} {pct(t.share(t.unknown)):>8} {t.wrong:>7}"
            )
        u, best = unknowns[path], stranger_best[path]
        fa = u.queries - u.unknown
        print(
            f"{path:<12} {'objects in no catalog':<26} {u.queries:>7} {'':>7} {'':>7} {'':>14} "
            f"{pct(u.share(u.unknown)):>8} {fa:>7}  (false accepts: {pct(u.share(fa))}; "
            f"highest similarity {best[-1] if best else float('nan'):.3f}, "
            f"99th percentile {percentile(best, 99):.3f})"
        )
    print(
        "(top-1/top-3: the nearest variants as the node ranks them, threshold not applied; answered right /"
    )
    print(" unknown / wrong: the node's answer with the model's threshold; wrong = a confident wrong answer)")
    print()
    header = (
        f"{'threads':>7} {'sent':<12} {'e2e median':>11} {'e2e p95':>9} {'bare median':>12} {'bare p95':>9}"
        f" {'ratio':>6} {'decode':>7} {'preproc':>8} {'search':>7}"
    )
    print(header)
    print("-" * len(header))
    for tm in timings:
        bare = percentile(tm.bare_ms, 50)
        for path in paths:
            pt = tm.paths[path]
            print(
                f"{tm.threads:>7} {path:<12} {percentile(pt.e2e_ms, 50):>8.2f} ms {percentile(pt.e2e_ms, 95):>6.2f} ms "
                f"{bare:>9.2f} ms {percentile(tm.bare_ms, 95):>6.2f} ms {percentile(pt.e2e_ms, 50) / bare:>5.1f}x "
                f"{percentile(pt.decode_ms, 50):>7.2f} {percentile(pt.preprocess_ms, 50):>8.2f} "
                f"{percentile(tm.search_ms, 50):>7.2f}"
            )
    print("(e2e: Embedder.embed(JPEG bytes) + Index.search; bare: set input + invoke + read output; the last")
    print(" three columns are medians in ms of decode, centre-crop + resize and the search, timed apart;")
    print(
        f" query frame: what the kiosk sends now, {QUERY_SIDE} px; whole frame: the {FRAME_SIZE[0]}x{FRAME_SIZE[1]}"
    )
    print(" JPEG it sent before)")
    print()

    never = tallies[QUERY, catalogs[0].label]
    one = timings[0]
    e2e_med = percentile(one.paths[QUERY].e2e_ms, 50)
    ratio = e2e_med / percentile(one.bare_ms, 50)
    whole_ratio = percentile(one.paths[WHOLE].e2e_ms, 50) / percentile(one.bare_ms, 50)
    u = unknowns[QUERY]
    fa = u.queries - u.unknown
    fa_rate = u.share(fa)
    goals = [
        (f"top-1 on never-trained enrolled variants >= {GOAL_TOP1:.0%}", pct(never.share(never.top1)),
         never.share(never.top1) >= GOAL_TOP1),
        (f"false accepts <= {GOAL_FALSE_ACCEPT:.0%}", f"{pct(fa_rate)} ({fa} of {u.queries})",
         fa_rate <= GOAL_FALSE_ACCEPT),
        (f"end to end <= {GOAL_MEDIAN_MS:.0f} ms median ({one.threads} thread)", f"{e2e_med:.2f} ms",
         e2e_med <= GOAL_MEDIAN_MS),
        (f"end to end <= {GOAL_RATIO:.0f}x the bare interpreter call ({one.threads} thread, medians)",
         f"{ratio:.1f}x", ratio <= GOAL_RATIO),
    ]  # fmt: skip
    print("goals (issue 18), on query frames as the kiosk sends them:")
    for goal, figure, ok in goals:
        print(f"  {goal:<66} {figure:<18} {'meets' if ok else 'MISSES'}")
    print(f"  (the whole {FRAME_SIZE[0]}x{FRAME_SIZE[1]} frame, as before: {whole_ratio:.1f}x the bare call)")
    print()

    markdown(catalogs, tallies, unknowns, timings, goals)


def markdown(
    catalogs: list[Catalog],
    tallies: dict[tuple[str, str], Tally],
    unknowns: dict[str, Tally],
    timings: list[Timing],
    goals: list[tuple[str, str, bool]],
) -> None:
    """The figures as Markdown tables, for docs/performance.md."""
    paths = (QUERY, WHOLE)
    print("Markdown:")
    print()
    print(
        "| sent | group | queries | top-1 (nearest) | top-3 | node's answer right | unknown | wrong answers |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for path in paths:
        for c in catalogs:
            t = tallies[path, c.label]
            print(
                f"| {path} | {c.label}: {len(c.products)} products, {len(c.variants)} variants | {t.queries} "
                f"| {pct(t.share(t.top1))} | {pct(t.share(t.top3))} | {pct(t.share(t.right))} "
                f"| {pct(t.share(t.unknown))} | {t.wrong} |"
            )
        u = unknowns[path]
        fa = u.queries - u.unknown
        print(
            f"| {path} | objects in no catalog | {u.queries} | | | | {pct(u.share(u.unknown))} "
            f"| {fa} false accepts ({pct(u.share(fa))}) |"
        )
    print()
    print(
        "| threads | sent | end to end median (ms) | p95 (ms) | bare interpreter median (ms) | p95 (ms) | ratio "
        "| decode (ms) | preprocess (ms) | search (ms) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tm in timings:
        bare = percentile(tm.bare_ms, 50)
        for path in paths:
            pt = tm.paths[path]
            print(
                f"| {tm.threads} | {path} | {percentile(pt.e2e_ms, 50):.2f} | {percentile(pt.e2e_ms, 95):.2f} "
                f"| {bare:.2f} | {percentile(tm.bare_ms, 95):.2f} "
                f"| {percentile(pt.e2e_ms, 50) / bare:.1f}x | {percentile(pt.decode_ms, 50):.2f} "
                f"| {percentile(pt.preprocess_ms, 50):.2f} | {percentile(tm.search_ms, 50):.2f} |"
            )
    print()
    print("| goal | measured | |")
    print("|---|---:|---|")
    for goal, figure, ok in goals:
        print(f"| {goal} | {figure} | {'meets' if ok else '**misses**'} |")


if __name__ == "__main__":
    run_main(main)
