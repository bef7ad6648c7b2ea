"""How store nodes and the cloud reconcile: streams, envelopes and merge rules (pure core) and transports.

The core (every module but ``mqtt_link``) imports only ``models``, pydantic and the standard library, does no
I/O and reads no clock: time comes in as arguments. ``docs/sync-protocol.md`` describes the protocol.

- ``hlc``: hybrid logical clocks;  ``envelope``: the wire messages;  ``encoding``: bytes in and out;
- ``topics``: topic names and the broker ACL;  ``sequence``: seqs, acks, gaps;  ``rules``: the merge rules;
- ``errors``: every exception raised here;  ``mqtt_link``: the MQTT transport (the one module doing I/O).
"""

from sync_protocol.encoding import (
    decode_ack,
    decode_batch,
    decode_downlink,
    decode_status,
    encode,
    pack_batches,
)
from sync_protocol.envelope import (
    SCHEMA_VERSION,
    Ack,
    Batch,
    CatalogAnnouncement,
    CatalogDelta,
    DeviceStatus,
    Envelope,
    FeedMessage,
    ModelAnnouncement,
    OrderStatusUpdate,
    OrderTransition,
    SeqRange,
    StockAdjustment,
    make_envelope,
    validate_payload,
)
from sync_protocol.errors import (
    ClockDriftExceeded,
    InvalidHLC,
    InvalidTopic,
    MessageRejected,
    RejectReason,
    SyncProtocolError,
)
from sync_protocol.hlc import HLC, HybridClock
from sync_protocol.rules import (
    MergeOutcome,
    MergeResult,
    StatusState,
    merge_order_status,
)
from sync_protocol.sequence import SeqState, SequenceTracker, classify, plan_after_ack
from sync_protocol.streams import DownlinkKind, Stream
from sync_protocol.topics import Topics, mosquitto_acl, parse_topic

__all__ = [
    "HLC",
    "SCHEMA_VERSION",
    "Ack",
    "Batch",
    "CatalogAnnouncement",
    "CatalogDelta",
    "ClockDriftExceeded",
    "DeviceStatus",
    "DownlinkKind",
    "Envelope",
    "FeedMessage",
    "HybridClock",
    "InvalidHLC",
    "InvalidTopic",
    "MergeOutcome",
    "MergeResult",
    "MessageRejected",
    "ModelAnnouncement",
    "OrderStatusUpdate",
    "OrderTransition",
    "RejectReason",
    "SeqRange",
    "SeqState",
    "SequenceTracker",
    "StatusState",
    "StockAdjustment",
    "Stream",
    "SyncProtocolError",
    "Topics",
    "classify",
    "decode_ack",
    "decode_batch",
    "decode_downlink",
    "decode_status",
    "encode",
    "make_envelope",
    "merge_order_status",
    "mosquitto_acl",
    "pack_batches",
    "parse_topic",
    "plan_after_ack",
    "validate_payload",
]
