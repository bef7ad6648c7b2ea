"""A catalog snapshot in parts: its head, then its products and stock levels a chunk at a time, so that a
node never holds a whole catalog (a 100,000-product one is 58 MB of JSON, and was about 1 GB as pydantic
objects at once). The apply (``edge.catalog.load_snapshot``) takes any ``SnapshotParts``: a snapshot held
whole (``WholeSnapshot``, for one built in memory) or one read from its JSON (``StreamedSnapshot``).

A ``StreamedSnapshot`` reads the document in passes with ijson's C parser, each opening it afresh
(``Opener``: a download's partial file decoded as it inflates, ``resumable_download.open_decoded``, or a
plain file):

1. ``StreamedSnapshot.read``: everything but the two lists that grow with the catalog
   (``models.catalog.STREAMED_FIELDS``), validated as a ``CatalogHead``. The fields may come in any order
   (the cloud writes discounts, stock and staff after the products), so this pass goes through the whole
   document, skipping the lists' contents.
2. ``products``: validated ``CHUNK`` at a time as they come, their ids and references checked across the
   whole catalog (``models.catalog.CatalogReferences``); after the last, the discounts' targets.
3. ``stock``: the levels, ``CHUNK`` at a time, each of a variant the products named (so after pass 2).

A fault is a ``ValueError`` saying where (``products.69999.name: ... (productId ...)``), raised as the pass
meets it: the apply consumes passes 2 and 3 inside its one write transaction, which then rolls back, and
the catalog stays as it was. What is held at once is the head, a chunk, and the products' and variants' ids
(uniqueness across the catalog cannot be checked with less).
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Any, Protocol, Self, TypeVar

import ijson
from pydantic import BaseModel, ValidationError

from models.catalog import (
    STREAMED_FIELDS,
    CatalogHead,
    CatalogReferences,
    CatalogSnapshot,
    Product,
    StockLevel,
)
from models.errors import InvalidInput
from sync_protocol.envelope import describe_validation_error

CHUNK = 2000
"""Products (or stock levels) per chunk: each table is written in one statement per chunk, and a chunk of
products as models is a few MB."""

Opener = Callable[[], AbstractContextManager[IO[bytes]]]
"""Opens the snapshot's JSON for one pass, from its first byte."""

_M = TypeVar("_M", bound=BaseModel)


class SnapshotParts(Protocol):
    """A snapshot as the apply takes it: its head, then its products and stock levels in chunks, each of the
    two read once, products first. A fault found in them is a ``ValueError``."""

    @property
    def head(self) -> CatalogHead: ...

    def products(self) -> Iterable[Sequence[Product]]: ...

    def stock(self) -> Iterable[Sequence[StockLevel]]: ...


class WholeSnapshot:
    """A snapshot held whole (validated when made), in the apply's parts."""

    def __init__(self, snapshot: CatalogSnapshot) -> None:
        self.head = CatalogHead.of(snapshot)
        self._snapshot = snapshot

    def products(self) -> Iterator[Sequence[Product]]:
        listed = self._snapshot.products
        return (listed[start : start + CHUNK] for start in range(0, len(listed), CHUNK))

    def stock(self) -> Iterator[Sequence[StockLevel]]:
        levels = self._snapshot.stock
        return (levels[start : start + CHUNK] for start in range(0, len(levels), CHUNK))


def parts_of(snapshot: CatalogSnapshot | SnapshotParts) -> SnapshotParts:
    return WholeSnapshot(snapshot) if isinstance(snapshot, CatalogSnapshot) else snapshot


class StreamedSnapshot:
    """A snapshot read from its JSON in passes (see the module docstring). Made by ``read``, which reads and
    checks the head; ``products`` then ``stock`` read the rest as they are iterated."""

    def __init__(self, head: CatalogHead, opener: Opener) -> None:
        self.head = head
        self._open = opener
        self._references: CatalogReferences | None = None

    @classmethod
    def read(cls, opener: Opener) -> Self:
        """The snapshot's head read and validated; ``ValueError`` when it is not a valid one."""
        with opener() as stream:
            fields = _head_fields(stream)
        snapshot = cls(_validated(CatalogHead, fields), opener)
        snapshot._head_references()  # the head's own ids, before any product is read
        return snapshot

    def products(self) -> Iterator[list[Product]]:
        """The products, ``CHUNK`` at a time, each validated and its references checked before its chunk is
        given; after the last, the discounts' targets."""
        references = self._head_references()
        self._references = None  # until every product is read: ``stock`` checks against them all
        for chunk in self._chunks("products", Product, "productId"):
            with _references_hold():
                references.add_products(chunk)
            yield chunk
        with _references_hold():
            references.check_discounts(self.head.discounts)
        self._references = references

    def stock(self) -> Iterator[list[StockLevel]]:
        """The stock levels, ``CHUNK`` at a time, each of a variant the products named."""
        references = self._references
        if references is None:
            raise RuntimeError("a snapshot's stock is read after its products")
        for chunk in self._chunks("stock", StockLevel, "variantId"):
            with _references_hold():
                references.check_stock(chunk)
            yield chunk

    def check(self) -> None:
        """Read products and stock through, writing nothing: ``ValueError`` at the first fault."""
        for _chunk in self.products():
            pass
        for _levels in self.stock():
            pass

    def _head_references(self) -> CatalogReferences:
        head = self.head
        with _references_hold():
            return CatalogReferences(head.categories, head.brands, head.discounts, head.coupons)

    def _chunks(self, field: str, model: type[_M], key: str) -> Iterator[list[_M]]:
        with self._open() as stream:
            chunk: list[_M] = []
            items = _json_errors(ijson.items(stream, f"{field}.item", use_float=True))
            for index, raw in enumerate(items):
                chunk.append(_validated(model, raw, f"{field}.{index}.", _named(raw, key)))
                if len(chunk) == CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk


_OPENING = frozenset({"start_map", "start_array", "map_key"})
"""Events at a field's own level that do not end its value (a map's keys are at its level too)."""


def _head_fields(stream: IO[bytes]) -> dict[str, Any]:
    """The document's top-level fields but ``STREAMED_FIELDS``, as plain JSON values; each of those must be
    a list. A field named twice is refused (which one would count is a parser's choice)."""
    events = _json_errors(ijson.parse(stream, use_float=True))
    first = next(events, None)
    if first is None or first[1] != "start_map":
        raise ValueError("the snapshot is not a JSON object")
    fields: dict[str, Any] = {}
    named: set[str] = set()
    key = ""
    builder: ijson.ObjectBuilder | None = None
    for prefix, event, value in events:
        if builder is not None:  # most events, in a large catalog, are the products': checked first
            builder.event(event, value)
            if prefix == key and event not in _OPENING:  # the value is whole
                fields[key] = builder.value
                builder = None
        elif prefix == "":
            if event == "map_key":
                if value in named:
                    raise ValueError(f"the snapshot names {value} twice")
                named.add(value)
                key = value
                builder = None if key in STREAMED_FIELDS else ijson.ObjectBuilder()
        elif prefix == key and event not in ("start_array", "end_array"):
            raise ValueError(f"the snapshot's {key} is not a list")
    return fields


def _json_errors(items: Iterator[Any]) -> Iterator[Any]:
    """ijson's errors as ``ValueError``, with the first line of what the parser says."""
    try:
        yield from items
    except ijson.JSONError as exc:
        said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"the snapshot is not valid JSON: {said}") from None


def _validated(model: type[_M], raw: Any, where: str = "", named: str = "") -> _M:
    """``raw`` as ``model``, or a ``ValueError`` saying where it is not one: ``products.69999.name: String
    should have at least 1 character (productId p-1)``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"{where}{describe_validation_error(exc)}{named}") from None


def _named(raw: Any, key: str) -> str:
    ident = raw.get(key) if isinstance(raw, dict) else None
    return f" ({key} {ident})" if isinstance(ident, str) else ""


@contextmanager
def _references_hold() -> Iterator[None]:
    """A reference check's ``InvalidInput`` as the ``ValueError`` a snapshot's fault is."""
    try:
        yield
    except InvalidInput as exc:
        raise ValueError(exc.message) from None
