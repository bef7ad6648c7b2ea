"""docs/sync-protocol.md shows real messages: its JSON examples decode, its ACL is the one the code writes."""

import json
import re
from pathlib import Path

from sync_protocol.compact import compact_batch, restore_batch
from sync_protocol.encoding import decode_ack, decode_batch, encode, encode_batch
from sync_protocol.hlc import HLC
from sync_protocol.topics import mosquitto_acl

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sync-protocol.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_json_examples_are_messages_the_decoders_accept():
    kinds = set()
    for block in blocks("json"):
        compact = json.dumps(json.loads(block), ensure_ascii=False, separators=(",", ":")).encode()
        if "batchId" in block:
            batch = decode_batch(compact)
            assert len(encode(batch)) == len(compact)
            assert f"{len(compact):,} bytes" in DOC
            kinds.add("batch")
        elif "highWaterSeq" in block:
            decode_ack(compact)
            kinds.add("ack")
    assert kinds == {"batch", "ack"}


def test_the_acl_shown_is_the_acl_generated():
    example = {"01JQ7ZV0RX4Y1SKM6W2D9PBN5A": "01JQ7ZTZ6F3C8HQW0V5R2KXM4E"}
    generated = [line for line in mosquitto_acl(example).splitlines() if line and not line.startswith("#")]
    shown = next(b for b in blocks("") if "user edgestore-cloud" in b)
    assert [line for line in shown.splitlines() if line] == generated
    assert f"`{mosquitto_acl().splitlines()[2]}`".replace("\n", "") in DOC.replace("\n", " ")


def test_the_hlc_example_is_a_valid_stamp():
    examples = re.findall(r"`([0-9a-f]{12}-[0-9a-f]{4}-[A-Z0-9]+)`", DOC)
    assert examples
    for text in examples:
        assert HLC.parse(text).encode() == text


def test_the_compact_example_is_the_batch_example_compacted():
    """The compact form shown is what the code makes of the batch shown, and restores to it; the sizes said
    are the sizes."""
    (shown,) = [b for b in blocks("json") if "batchId" in b]
    (compact_shown,) = blocks("jsonc")
    document = json.loads(shown)
    batch = decode_batch(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode())
    assert compact_batch(batch) == json.loads(compact_shown)
    assert restore_batch(json.loads(compact_shown)) == document
    as_json = json.dumps(json.loads(compact_shown), ensure_ascii=False, separators=(",", ":")).encode()
    assert f"{len(as_json):,} bytes as JSON, {len(encode_batch(batch)):,} on the wire" in DOC
