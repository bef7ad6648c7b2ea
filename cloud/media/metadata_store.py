"""Product metadata in MongoDB: the free-form part of the catalog that has no columns in Postgres.

Postgres keeps what money and stock depend on (products, variants, prices); the text a seller writes, the
attribute table, per-variant extras, the image list and refund rules change shape from shop to shop, so they
live in one document per product::

    {"_id": metadataId, "productId", "sellerId", "description", "attributes": {str: str},
     "variants": [{"variantId", "metadata": {...}}],
     "images": [{"imageId", "url", "thumbUrl", "width", "height", "contentType"}],
     "refundRules": {...} | None, "updatedAt": datetime (UTC)}

``MetadataStore`` is written once against the pymongo ``Collection`` API and keeps to the operations that
montydb implements too (``find_one``, ``find`` with ``$in``, ``replace_one`` with upsert, ``update_one`` with
``$push``/``$pull``/``$set``, ``delete_one``). So the code the tests run on montydb is the code production
runs on a real MongoDB: there is no second implementation to drift.
"""

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pymongo
from montydb import MontyClient, set_storage

from models.text import without_control_characters
from plumbing import Clock, utcnow

METADATA_COLLECTION = "productMetadata"
MONGO_SERVER_SELECTION_TIMEOUT_MS = 3000
# montydb writes the name of a repository's storage engine into this file when the repository is set up.
_MONTY_STORAGE_MARKER = ".monty.storage"


class DocumentCollection(Protocol):
    """The slice of ``pymongo.collection.Collection`` this module uses; ``MontyCollection`` has it too.

    Positional-only, as this module calls them: pymongo names the first parameter ``filter``."""

    def find_one(self, query: Mapping[str, Any], projection: Any = None, /) -> Any: ...

    def find(self, query: Mapping[str, Any], /) -> Iterator[Any]: ...

    def replace_one(
        self, query: Mapping[str, Any], replacement: Mapping[str, Any], /, upsert: bool = False
    ) -> Any: ...

    def update_one(self, query: Mapping[str, Any], update: Mapping[str, Any], /) -> Any: ...

    def delete_one(self, query: Mapping[str, Any], /) -> Any: ...


def _to_mongo_precision(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds; truncating first means the value we write is the value we read back."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _from_storage(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict with ``updatedAt`` in ``datetime.UTC``: montydb hands back its own fixed-offset tzinfo.

    Text is read without control characters: documents written before the rule of ``models/text.py``
    (issue 15) may hold some, and every schema refuses them, responses included."""
    out = {key: without_control_characters(value) for key, value in doc.items()}
    updated = out.get("updatedAt")
    if isinstance(updated, datetime) and updated.tzinfo is not None:
        out["updatedAt"] = updated.astimezone(UTC)
    return out


def _require_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


class MetadataStore:
    """One document per product, keyed by its metadata id; see the module docstring for the shape."""

    def __init__(
        self,
        collection: DocumentCollection,
        *,
        close: Callable[[], None] | None = None,
        clock: Clock = utcnow,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        """``close`` releases the client that owns ``collection``; ``clock`` stamps ``updatedAt`` (tests move it).

        ``lock`` serialises every operation. pymongo is thread-safe and needs none; montydb's SQLite engine
        keeps the connection of the call in progress in one shared attribute, so two request threads at once
        swap connections under each other (``sqlite3.ProgrammingError``, or worse, one closing the other's).
        """
        self._collection = collection
        self._close = close
        self._clock = clock
        self._lock: AbstractContextManager[Any] = lock if lock is not None else nullcontext()

    def _now(self) -> datetime:
        return _to_mongo_precision(self._clock().astimezone(UTC))

    def put(self, doc: Mapping[str, Any]) -> None:
        """Insert or replace the whole document with ``doc["_id"]``.

        Whole-document replacement, not a merge: the dashboard always saves the full form, and a replace can
        never leave a mix of an old and a new version behind. ``updatedAt`` is stamped when missing.
        """
        metadata_id = _require_id(doc.get("_id"), "_id")
        record = dict(doc)
        record.setdefault("updatedAt", self._now())
        record.setdefault("images", [])
        with self._lock:
            self._collection.replace_one({"_id": metadata_id}, record, upsert=True)

    def get(self, metadata_id: str) -> dict[str, Any] | None:
        """The document, or None when there is none."""
        with self._lock:
            found = self._collection.find_one({"_id": metadata_id})
        return None if found is None else _from_storage(found)

    def get_many(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The documents that exist among ``ids``, by id, in one query (a catalog page needs dozens at once)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        with self._lock:  # the cursor is drained inside the lock: montydb reads lazily
            found = list(self._collection.find({"_id": {"$in": wanted}}))
        return {str(doc["_id"]): _from_storage(doc) for doc in found}

    def delete(self, metadata_id: str) -> bool:
        """Remove the document; True when there was one. Deleting twice is not an error."""
        with self._lock:
            result = self._collection.delete_one({"_id": metadata_id})
        return int(result.deleted_count) > 0

    def add_image(self, metadata_id: str, image: Mapping[str, Any]) -> bool:
        """Append ``image`` to the document's image list; False when the document does not exist.

        Idempotent per ``imageId``: the filter only matches while no image with that id is present, so a
        retried upload confirmation cannot list the same image twice, and the check and the push are one
        atomic update rather than a read followed by a write.
        """
        image_id = _require_id(image.get("imageId"), "imageId")
        with self._lock:
            result = self._collection.update_one(
                {"_id": metadata_id, "images.imageId": {"$ne": image_id}},
                {"$push": {"images": dict(image)}, "$set": {"updatedAt": self._now()}},
            )
            if int(result.matched_count) > 0:
                return True
            return self._collection.find_one({"_id": metadata_id}, {"_id": 1}) is not None

    def remove_image(self, metadata_id: str, image_id: str) -> bool:
        """Drop the image with ``image_id`` from the list; True when one was removed.

        The filter names the image so that ``updatedAt`` only moves when something actually changed.
        """
        with self._lock:
            result = self._collection.update_one(
                {"_id": metadata_id, "images.imageId": image_id},
                {"$pull": {"images": {"imageId": image_id}}, "$set": {"updatedAt": self._now()}},
            )
        return int(result.modified_count) > 0

    def ping(self) -> bool:
        """True when the store answers a read; for the health endpoint, so it never raises."""
        try:
            with self._lock:
                self._collection.find_one({"_id": "__ping__"}, {"_id": 1})
        except Exception:  # a health probe reports any failure (server down, auth, disk) as unhealthy
            return False
        return True

    def close(self) -> None:
        """Release the client (connection pool, or montydb's storage); the store is unusable afterwards."""
        with self._lock:
            if self._close is not None:
                self._close()
                self._close = None


def open_metadata_store(mongo_url: str | None, data_dir: Path, database: str = "edgestore") -> MetadataStore:
    """A store on the MongoDB at ``mongo_url``, or, without a URL, on montydb files in ``data_dir / "mongo"``.

    pymongo connects lazily, so this does not fail when the server is down: ``ping()`` says so, and each
    operation gives up after a short server selection timeout instead of pymongo's default 30 s, which would
    hold a request thread that long. The embedded store uses montydb's SQLite engine (one file per
    collection, WAL, synchronous=FULL so an acknowledged write survives a power cut); its operations are
    serialised in this process (see ``MetadataStore``).
    """
    if mongo_url:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            mongo_url,
            serverSelectionTimeoutMS=MONGO_SERVER_SELECTION_TIMEOUT_MS,
            tz_aware=True,
            appname="edgestore-cloud",
        )
        return MetadataStore(client[database][METADATA_COLLECTION], close=client.close)

    repository = data_dir / "mongo"
    if not (repository / _MONTY_STORAGE_MARKER).is_file():
        set_storage(str(repository), storage="sqlite")
    monty = MontyClient(str(repository), tz_aware=True, synchronous="FULL")
    return MetadataStore(monty[database][METADATA_COLLECTION], close=monty.close, lock=threading.Lock())
