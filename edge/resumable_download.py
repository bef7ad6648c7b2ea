"""A large file from the cloud (a catalog snapshot), fetched as it travels and resumed where it stopped.

- **On the wire as stored.** The raw bytes (``iter_raw``: still content-coded, gzip for a snapshot) go to a
  partial file in the node's data dir, so what was received survives a cut link or a restart of the node.
  ``Accept-Encoding: gzip`` only: a coding the node can decode itself, whatever the server prefers.
- **Resumed.** The next attempt asks for the rest (``Range: bytes=N-``) with ``If-Range`` (the ETag, or
  Last-Modified, the first answer gave), so a server whose object changed meanwhile answers 200 with the
  whole new object: the partial file starts over. So does a 206 that does not start at N, a different
  coding or validator, or a 416 (the partial file is not a prefix of what the server holds), unless the 416
  says the whole is exactly the bytes held (all came before; the node stopped before using them).
- **Bounded.** At most ``max_raw_bytes`` are received, and decoding stops one byte past ``max_bytes`` (the
  announced size): a body that inflates without end (a decompression bomb) is refused there. The decoded
  bytes are never held whole: ``decoded`` (and ``open_decoded``, the same as a file) inflates the partial
  file a chunk at a time, afresh for each reader, so a reader that goes through it more than once (the
  checks, then the apply) costs the decoding again, not the memory.
- **Watched.** A ``Progress`` logs bytes, % and rate at most once a second (each 10 % step, or every 10 s
  when the total is unknown), and holds the figures the node's ``GET /sync/status`` shows.

Whether the bytes are the announced ones is the caller's check (size and SHA-256 of the decoded bytes):
when they are not, it discards the partial file (``discard``) and the next attempt starts over.
"""

import io
import json
import logging
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import httpx

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
CODINGS = frozenset({"identity", "gzip"})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes \*/(\d+)")  # a 416's Content-Range: the whole's size
# Attempts within one fetch: the first, and one more after the partial file turned out not to match.
_MAX_ATTEMPTS = 2

Phase = Literal["downloading", "decoding", "verifying", "applying"]


def max_coded_bytes(max_bytes: int) -> int:
    """The most raw bytes a gzip coding of ``max_bytes`` may take: deflate's stored blocks add 5 bytes per
    16 KiB at worst, gzip 18 bytes of header and trailer; with room to spare."""
    return max_bytes + max_bytes // 1000 + 4096


@dataclass
class Progress:
    """A download's figures as it goes, logged and shown; ``phase`` is ``downloading``, ``decoding``,
    ``verifying`` or ``applying``. Updated by the thread that downloads; read (a copy of plain fields) by the API's."""

    what: str
    started_at: datetime
    phase: Phase = "downloading"
    received_bytes: int = 0
    expected_bytes: int | None = None
    resumed_from: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    log_every_s: float = 1.0
    _started: float = field(default=0.0, repr=False)
    _last_log: float | None = field(default=None, repr=False)
    _last_step: int = field(default=-1, repr=False)
    # When each phase began (``clock`` seconds), for whoever wants the time each took.
    phase_started: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._started = self.clock()
        self.phase_started[self.phase] = self._started

    def begin(self, *, held: int, expected: int | None) -> None:
        """A response started: ``held`` bytes kept from before (resumed), ``expected`` the whole, if said."""
        with self._lock:
            self.received_bytes = held
            self.resumed_from = held
            self.expected_bytes = expected
        total = "an unknown size" if expected is None else f"{expected} bytes"
        how = f"resuming at byte {held}" if held else "from the start"
        log.info("%s: downloading %s, %s", self.what, total, how)

    def advance(self, received: int) -> None:
        with self._lock:
            self.received_bytes = received
        now = self.clock()
        expected = self.expected_bytes
        done = expected is not None and received >= expected and self._last_step < 10
        if not done and self._last_log is not None and now - self._last_log < self.log_every_s:
            return
        if expected:
            step = min(10, received * 10 // expected)
            if step == self._last_step:
                return
            self._last_step = step
        elif self._last_log is not None and now - self._last_log < 10 * self.log_every_s:
            return
        self._last_log = now
        log.info("%s", self.line(now))

    def set_phase(self, phase: Phase) -> None:
        with self._lock:
            self.phase = phase
        self.phase_started[phase] = self.clock()
        log.info("%s: %s (%.1f s since the start)", self.what, phase, self.clock() - self._started)

    def line(self, now: float | None = None) -> str:
        """``what: 3.1 of 6.6 MB (47 %), 1.2 MB/s``: the rate over the bytes of this attempt."""
        elapsed = max((self.clock() if now is None else now) - self._started, 1e-6)
        rate = (self.received_bytes - self.resumed_from) / elapsed / 1e6
        got = self.received_bytes / 1e6
        if self.expected_bytes:
            share = 100 * self.received_bytes / self.expected_bytes
            return f"{self.what}: {got:.1f} of {self.expected_bytes / 1e6:.1f} MB ({share:.0f} %), {rate:.2f} MB/s"
        return f"{self.what}: {got:.1f} MB, {rate:.2f} MB/s"


@dataclass(frozen=True)
class Fetched:
    """The raw bytes received, whole, in ``path``, in the content coding ``coding``."""

    path: Path
    coding: str
    raw_bytes: int
    resumed_from: int
    requests: int


class _Restart(Exception):
    """The partial file does not continue what the server sends: discard it and ask for the whole."""


def _meta_path(partial: Path) -> Path:
    return partial.with_name(partial.name + ".meta")


def discard(partial: Path) -> None:
    """Forget a partial download (after success, or when it no longer matches)."""
    partial.unlink(missing_ok=True)
    _meta_path(partial).unlink(missing_ok=True)


def _held(partial: Path) -> tuple[int, str | None, str]:
    """Bytes held, their validator and their coding; (0, None, identity) with nothing usable held."""
    try:
        meta = json.loads(_meta_path(partial).read_text("utf-8"))
        size = partial.stat().st_size
    except (OSError, ValueError):
        discard(partial)
        return 0, None, "identity"
    validator, coding = meta.get("validator"), meta.get("coding")
    if (
        not isinstance(coding, str)
        or coding not in CODINGS
        or not (validator is None or isinstance(validator, str))
    ):
        discard(partial)
        return 0, None, "identity"
    return size, validator, coding


def _validator(response: httpx.Response) -> str | None:
    """What If-Range may name: a strong ETag, else Last-Modified (a weak ETag cannot be used, RFC 9110)."""
    etag = response.headers.get("etag")
    if etag and not etag.startswith("W/"):
        return str(etag)
    modified = response.headers.get("last-modified")
    return str(modified) if modified else None


def _coding(response: httpx.Response) -> str:
    coding = response.headers.get("content-encoding", "identity").strip().lower() or "identity"
    if coding not in CODINGS:
        raise ValueError(f"{response.url} sends content coding {coding!r}, which the node does not decode")
    return coding


def fetch(
    url: str,
    partial: Path,
    *,
    max_raw_bytes: int,
    progress: Progress,
    timeout_s: float = 60,
    client: httpx.Client | None = None,
) -> Fetched:
    """Receive the whole raw body of ``url`` into ``partial``, continuing what an earlier attempt left there.
    Raises ``httpx.HTTPError`` (the partial file is kept: the next attempt resumes) or ``ValueError`` (more
    than ``max_raw_bytes``, or a coding the node does not decode: the partial file is discarded)."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    own = client is None
    http = client or httpx.Client(follow_redirects=True, timeout=timeout_s)
    requests = 0
    try:
        for _attempt in range(_MAX_ATTEMPTS):
            requests += 1
            try:
                return _attempt_fetch(http, url, partial, max_raw_bytes, progress, requests)
            except _Restart as why:
                log.info("%s: starting over (%s)", progress.what, why)
                discard(partial)
        raise ValueError(f"{url} could not be fetched whole: the server changed it while it was fetched")
    except ValueError:
        discard(partial)
        raise
    finally:
        if own:
            http.close()


def _attempt_fetch(
    http: httpx.Client, url: str, partial: Path, max_raw_bytes: int, progress: Progress, requests: int
) -> Fetched:
    held, validator, coding = _held(partial)
    headers = {"Accept-Encoding": "gzip"}
    if held:
        headers["Range"] = f"bytes={held}-"
        if validator is not None:
            headers["If-Range"] = validator
    with http.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and held:
            whole = _UNSATISFIED.fullmatch(response.headers.get("content-range", "").strip())
            if whole is not None and int(whole[1]) == held:
                # All of it came before (the node stopped before decoding it): the caller's check of the
                # decoded bytes says whether it is still the announced file.
                progress.begin(held=held, expected=held)
                return Fetched(partial, coding, held, held, requests)
            raise _Restart("the server has no bytes past those held")
        response.raise_for_status()
        held, coding, expected = _continuation(response, partial, held, validator, coding, progress)
        if expected is not None and expected > max_raw_bytes:
            raise ValueError(
                f"{url} is {expected} bytes on the wire, more than the {max_raw_bytes} a node takes"
            )
        progress.begin(held=held, expected=expected)
        received = held
        with partial.open("ab" if held else "wb") as out:
            # No chunk size: httpx would hold up to that many bytes back, and lose them when the link is cut.
            for chunk in response.iter_raw():
                received += len(chunk)
                if received > max_raw_bytes:
                    raise ValueError(f"{url} sends more than the {max_raw_bytes} bytes a node takes")
                out.write(chunk)
                progress.advance(received)
        # h11 refuses a body shorter than its Content-Length (RemoteProtocolError); checked here as well.
        if expected is not None and received != expected:
            raise httpx.RemoteProtocolError(f"{url} ended at byte {received} of {expected}")
    progress.advance(received)
    return Fetched(partial, coding, received, progress.resumed_from, requests)


def _continuation(
    response: httpx.Response, partial: Path, held: int, validator: str | None, coding: str, progress: Progress
) -> tuple[int, str, int | None]:
    """From an answer's status and headers: the bytes held that it continues (0: it is the whole), its
    coding, and the whole's raw size when said. ``_Restart`` when it does not continue the held bytes."""
    said_coding = _coding(response)
    said_validator = _validator(response)
    if response.status_code == 206 and held:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        if match is None or int(match[1]) != held:
            raise _Restart("a partial answer that does not start where the held bytes end")
        if said_coding != coding or (validator is not None and said_validator not in (None, validator)):
            raise _Restart("the object changed since the held bytes came")
        return held, coding, None if match[3] == "*" else int(match[3])
    if response.status_code != 200:
        raise ValueError(f"{response.url} answers {response.status_code} to a download")
    if held:
        log.info("%s: the server sends the whole again (200, not 206)", progress.what)
    # Emptied, then described, before the first byte: held bytes always go with their validator and coding
    # (a stop between the two leaves nothing held, or an empty file described).
    partial.write_bytes(b"")
    _meta_path(partial).write_text(json.dumps({"validator": said_validator, "coding": said_coding}), "utf-8")
    length = response.headers.get("content-length")
    return 0, said_coding, int(length) if length and length.isdigit() else None


def decoded(fetched: Fetched, *, max_bytes: int) -> Iterator[bytes]:
    """The decoded bytes of a whole fetched body, a piece at a time as they inflate (at most ``CHUNK_BYTES``
    held at once): ``ValueError`` as soon as they run past ``max_bytes`` (decoding stops there: a bomb costs
    no more than a chunk of memory) or when the coded bytes are broken. Each call reads the file afresh."""
    try:
        yield from _decoded(fetched, max_bytes)
    except zlib.error as exc:
        raise ValueError(f"the download's gzip stream is broken: {exc}") from None


def open_decoded(fetched: Fetched, *, max_bytes: int) -> BinaryIO:
    """``decoded`` as a binary file to read (and close), for a parser that reads a file."""
    return io.BufferedReader(_ChunkReader(decoded(fetched, max_bytes=max_bytes)), CHUNK_BYTES)


def _decoded(fetched: Fetched, max_bytes: int) -> Iterator[bytes]:
    given = 0
    with fetched.path.open("rb") as source:
        if fetched.coding == "identity":
            while chunk := source.read(min(CHUNK_BYTES, max_bytes + 1 - given)):
                given += len(chunk)
                if given > max_bytes:
                    raise ValueError(f"the download is more than the {max_bytes} bytes announced")
                yield chunk
            return
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        while not inflater.eof and (chunk := source.read(CHUNK_BYTES)):
            data = chunk
            while data and not inflater.eof:
                # Never more than one byte past the limit, nor a chunk, per call: max_length bounds what
                # inflates now.
                out = inflater.decompress(data, min(CHUNK_BYTES, max_bytes + 1 - given))
                given += len(out)
                if given > max_bytes:
                    raise ValueError(f"the download inflates past the {max_bytes} bytes announced")
                if out:
                    yield out
                data = inflater.unconsumed_tail
        if not inflater.eof:
            raise ValueError("the download's gzip stream is cut short")
        if inflater.unused_data or source.read(1):
            raise ValueError("the download has bytes after its gzip stream")


class _ChunkReader(io.RawIOBase):
    """A raw binary file over an iterator of byte strings (``decoded``'s); closing it closes the iterator,
    and with it the file the iterator reads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()
