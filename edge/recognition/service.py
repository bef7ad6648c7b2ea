"""The node's recogniser: the model it runs and the store's reference index, swapped whole.

What serves is one immutable ``Serving`` (an embedder and the index of the references it embedded), held
in one attribute. A recognition reads that attribute once and works with what it got to the end, so a swap
(one assignment, atomic in Python) never disturbs a recognition under way and needs no lock on the
recognition path. Changes (enrolment, deleting references, a new model) are serialised by one lock among
themselves and publish a new ``Serving``.

A new model (``install``) is loaded in a fresh interpreter, checked, and all reference photos are embedded
again with it, while the old model keeps answering; only then is it swapped in. A model that fails any step
raises ``BadModel`` and nothing changes (``edge.sync_downlink.take_model`` records the rejection).
"""

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge import model_files
from edge.db import Database
from edge.recognition import cloud_photos, references
from edge.recognition.bundle import MODEL_NAME, Bundle, read_bundle_file
from edge.recognition.cloud_photos import CloudPhoto
from edge.recognition.embedder import Embedder
from edge.recognition.errors import BadModel, ModelNotLoaded, NotAnImage, VariantNotFound
from edge.recognition.index import Index, Result
from edge.recognition.interpreter import Backend
from edge.tables import variants

log = logging.getLogger(__name__)

SHIPPED_BUNDLE = Path(__file__).parent / "assets" / "product-recognizer.zip"


@dataclass(frozen=True)
class Serving:
    embedder: Embedder
    index: Index
    version: int  # the model file's version: 0 shipped with the code, else the cloud's
    path: Path


@dataclass(frozen=True)
class Recognition:
    result: Result
    model_version: str


@dataclass(frozen=True)
class CloudPhotosApplied:
    """What ``Recognizer.apply_cloud_photos`` did with a batch."""

    added: tuple[str, ...]  # cloud photo ids now held
    removed: int  # reference photos forgotten
    deferred: tuple[str, ...]  # cloud photo ids of a variant not in the catalog (yet): try again later
    refused: tuple[str, ...]  # cloud photo ids refused for good (not an image), recorded


class Recognizer:
    model_name = MODEL_NAME

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        threads: int = 1,
        backend: Backend | None = None,
        shipped_bundle: Path = SHIPPED_BUNDLE,
    ) -> None:
        self.db, self.clock = db, clock
        self.threads, self.backend = threads, backend
        self.shipped_bundle = shipped_bundle
        self._serving: Serving | None = None
        self._changing = threading.Lock()

    @property
    def serving(self) -> Serving | None:
        return self._serving

    # the model

    def start(self) -> None:
        """Serve the installed model, or the shipped one when none was delivered (or the installed one no
        longer loads: its rejection is recorded and the shipped one serves)."""
        with self.db.read() as conn:
            installed = model_files.installed(conn).get(MODEL_NAME)
        if installed and int(installed["version"]) != model_files.SHIPPED_VERSION:
            path, version = Path(str(installed["path"])), int(installed["version"])
            try:
                self.install(path, version)
                return
            except BadModel as exc:
                log.error(
                    "installed model v%s does not load (%s); serving the shipped one", version, exc.reason
                )
                with self.db.write() as conn:
                    model_files.reject(
                        conn, MODEL_NAME, version, str(installed["sha256"]), exc.reason, self.clock(), path
                    )
        try:
            bundle = self.install(self.shipped_bundle, model_files.SHIPPED_VERSION)
        except BadModel as exc:
            log.error("the shipped recognition model does not load: %s; recognition is off", exc.reason)
            return
        serving = self._serving
        if serving is not None and serving.version == model_files.SHIPPED_VERSION:
            with self.db.write() as conn:
                model_files.record_shipped(conn, MODEL_NAME, self.shipped_bundle, bundle.spec.tflite_sha256)

    def install(self, path: Path, version: int) -> Bundle:
        """Load the bundle at ``path`` in a fresh interpreter, embed every reference photo with it, and swap it
        in; ``BadModel`` (and the old model serving on) when it is not fit to serve."""
        bundle = read_bundle_file(path)
        embedder = Embedder.load(bundle, threads=self.threads, backend=self.backend)
        with self._changing:
            if self._serving is not None and self._serving.version > version:
                return bundle  # a newer one came in meanwhile (a delivery while the shipped one loaded)
            self._embed_missing(embedder)
            with self.db.write() as conn:
                index = Index.build(references.vectors(conn, embedder.key), bundle.spec.embedding_dim)
                references.prune(conn, embedder.key)
            self._serving = Serving(embedder, index, version, path)
        log.info(
            "recognition model %s (v%s) serves, %d reference photos",
            bundle.spec.model_version,
            version,
            len(index),
        )
        return bundle

    def _embed_missing(self, embedder: Embedder) -> None:
        with self.db.read() as conn:
            todo = references.missing(conn, embedder.key)
        computed: list[tuple[str, npt.NDArray[np.float32]]] = []
        for photo_id, image in todo:
            try:
                computed.append((photo_id, embedder.embed(image)))
            except Exception as exc:
                raise BadModel(f"the model fails on a reference photo: {exc}") from exc
        if computed:
            with self.db.write() as conn:
                references.store(conn, embedder.key, computed)

    # recognition

    def recognize(self, image: bytes, k: int = 3) -> Recognition:
        serving = self._serving  # read once: a swap from here on does not touch this recognition
        if serving is None:
            raise ModelNotLoaded("no recognition model is loaded at this node")
        query = serving.embedder.embed(image)
        result = serving.index.search(query, serving.embedder.spec, k)
        return Recognition(result, serving.embedder.spec.model_version)

    # references

    def enroll(self, variant_id: str, images: list[bytes], *, by: str | None) -> int:
        """Keep the photos of a variant and make it recognisable now; how many it has in all."""
        if self._serving is None:
            raise ModelNotLoaded("no recognition model is loaded at this node: nothing can embed the photos")
        kept = [references.downscale(image) for image in images]  # NotAnImage before anything is written
        with self._changing:
            serving = self._serving
            assert serving is not None
            with self.db.read() as conn:
                if conn.execute(variants.select().where(variants.c.variant_id == variant_id)).first() is None:
                    raise VariantNotFound(
                        f"no variant {variant_id} in this store's catalog", variant_id=variant_id
                    )
            vectors = [serving.embedder.embed(image) for image in kept]
            with self.db.write() as conn:
                references.add(
                    conn,
                    variant_id,
                    list(zip(kept, vectors, strict=True)),
                    serving.embedder.key,
                    now=self.clock(),
                    by=by,
                )
                rows = references.vectors(conn, serving.embedder.key)
            self._swap_index(serving, rows)
        return sum(1 for variant, _ in rows if variant == variant_id)

    def apply_cloud_photos(
        self, additions: Sequence[CloudPhoto], removals: Collection[str] = ()
    ) -> CloudPhotosApplied:
        """Take a batch of the seller's cloud-enrolled photos (``edge.recognition.cloud_photos``): keep and
        embed ``additions``, forget the references that came from the cloud photo ids in ``removals``, then
        one index build and one swap. A photo of a variant the catalog does not have (yet) is deferred, one
        that is not an image is refused (recorded, not fetched again while its file is the same), one already
        held is left as it is; none of these fails the batch. References enrolled at the node are untouched.
        """
        if self._serving is None:
            raise ModelNotLoaded("no recognition model is loaded at this node: nothing can embed the photos")
        kept: list[tuple[CloudPhoto, bytes]] = []
        refused: list[tuple[CloudPhoto, str]] = []
        seen: set[str] = set()
        for photo in additions:
            if photo.photo_id in seen:
                continue  # listed twice: the first counts
            seen.add(photo.photo_id)
            try:
                kept.append((photo, references.downscale(photo.data)))
            except NotAnImage as exc:
                refused.append((photo, str(exc)))
        with self._changing:
            serving = self._serving
            assert serving is not None
            with self.db.read() as conn:
                held = cloud_photos.held(conn)
                known = cloud_photos.known_variants(conn, {photo.variant_id for photo, _ in kept})
            removing = set(removals)
            deferred = [p.photo_id for p, _ in kept if p.variant_id not in known]
            todo = [
                (p, image)
                for p, image in kept
                if p.variant_id in known and (p.photo_id not in held or p.photo_id in removing)
            ]
            embedded = [(p, image, serving.embedder.embed(image)) for p, image in todo]
            now = self.clock()
            with self.db.write() as conn:
                removed = references.delete_cloud(conn, removing)
                for p, image, vector in embedded:
                    references.add(
                        conn,
                        p.variant_id,
                        [(image, vector)],
                        serving.embedder.key,
                        now=now,
                        by=None,
                        cloud_photo_ids=[p.photo_id],
                    )
                for p, reason in refused:
                    cloud_photos.refuse(conn, p, reason, now)
                cloud_photos.forget_refusals(conn, [p.photo_id for p, _, _ in embedded])
                rows = references.vectors(conn, serving.embedder.key) if removed or embedded else None
            if rows is not None:
                self._swap_index(serving, rows)
        return CloudPhotosApplied(
            added=tuple(p.photo_id for p, _, _ in embedded),
            removed=removed,
            deferred=tuple(deferred),
            refused=tuple(p.photo_id for p, _ in refused),
        )

    def _swap_index(self, serving: Serving, rows: list[tuple[str, npt.NDArray[np.float32]]]) -> None:
        """Serve ``serving``'s model with an index of ``rows`` (under ``_changing``): one assignment."""
        self._serving = replace(serving, index=Index.build(rows, serving.embedder.spec.embedding_dim))

    def delete_references(self, variant_id: str) -> int:
        """Forget the reference photos of a variant enrolled at this node; how many there were (0: it had
        none). Those from the seller's cloud set stay: the seller removes them in the cloud, and every node
        forgets them with the next version of the set (a node that dropped them on its own would disagree
        with the set it says it holds)."""
        with self._changing:
            with self.db.write() as conn:
                deleted = references.delete_variant(conn, variant_id)
            serving = self._serving
            if serving is not None and deleted:
                with self.db.read() as conn:
                    rows = references.vectors(conn, serving.embedder.key)
                self._swap_index(serving, rows)
        return deleted
