"""MQTT topic names as value objects, built and parsed in one place, and the broker ACL that guards them.

Layout (``{...}`` are ids, see ``sync_protocol.ids``; ``{stream}`` a ``Stream``, ``{kind}`` a
``DownlinkKind``)::

    edgestore/v1/stores/{storeId}/up/{deviceId}/{stream}     device -> cloud: batches
    edgestore/v1/stores/{storeId}/ack/{deviceId}              cloud -> device: acks (the stream is inside)
    edgestore/v1/stores/{storeId}/down/{deviceId}/{kind}      cloud -> device: catalog, status, stock
    edgestore/v1/stores/{storeId}/status/{deviceId}           device: online (retained) / last will

Broker identity (see ``mosquitto_acl`` for why): a device logs in with **username = its deviceId** (its own
password, written by the cloud into the broker's password file) and uses its deviceId as client id too.
Every topic a device may use carries its deviceId. The cloud, which knows each device's store, writes the
ACL with one block per device naming its store, so the broker itself keeps a device of store A off store
B's topics; the cloud checks the store again on every uplink (``unauthorised`` otherwise).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from sync_protocol.errors import InvalidTopic
from sync_protocol.ids import is_ident
from sync_protocol.streams import DownlinkKind, Stream

PREFIX = "edgestore/v1"
"""The protocol's major version is in the topic, so a v2 can run beside v1 on one broker."""
_STORES = f"{PREFIX}/stores"

CLOUD_USERNAME = "edgestore-cloud"
"""The cloud's broker login. Device usernames are device ids (ULIDs), which never contain '-', so no device
can be named like the cloud."""

MAX_TOPIC_LENGTH = 512

_E = TypeVar("_E", Stream, DownlinkKind)


def _check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not is_ident(value):
        raise InvalidTopic(f"{what} {value!r} cannot be a topic level: use 1-64 letters, digits or _ . : -")


@dataclass(frozen=True)
class _DeviceTopic:
    """What every topic has: ``{_STORES}/{storeId}/{LEVEL}/{deviceId}``, checked ids, the name as its str."""

    LEVEL: ClassVar[str]
    store_id: str
    device_id: str

    def __post_init__(self) -> None:
        _check_id("storeId", self.store_id)
        _check_id("deviceId", self.device_id)

    def _tail(self) -> str:
        return ""

    @property
    def name(self) -> str:
        return f"{_STORES}/{self.store_id}/{self.LEVEL}/{self.device_id}{self._tail()}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class UplinkTopic(_DeviceTopic):
    """Where a device publishes its batches for one stream."""

    LEVEL: ClassVar[str] = "up"
    stream: Stream

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.stream, Stream):
            raise InvalidTopic(f"not a stream: {self.stream!r}")

    def _tail(self) -> str:
        return f"/{self.stream}"


@dataclass(frozen=True)
class AckTopic(_DeviceTopic):
    """Where the cloud acknowledges one device's batches (all its streams)."""

    LEVEL: ClassVar[str] = "ack"


@dataclass(frozen=True)
class DownlinkTopic(_DeviceTopic):
    """Where the cloud sends one device catalog, order status and stock messages.

    Addressed per device rather than per store so that the broker alone keeps a device from reading another
    store's messages (see ``mosquitto_acl``); the cloud publishes to each device of the store.
    """

    LEVEL: ClassVar[str] = "down"
    kind: DownlinkKind

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.kind, DownlinkKind):
            raise InvalidTopic(f"not a downlink kind: {self.kind!r}")

    def _tail(self) -> str:
        return f"/{self.kind}"


@dataclass(frozen=True)
class StatusTopic(_DeviceTopic):
    """A device's presence: it publishes ``online`` retained on connect, the broker its last will."""

    LEVEL: ClassVar[str] = "status"


Topic = UplinkTopic | AckTopic | DownlinkTopic | StatusTopic


class Topics:
    """Builders for every topic and subscription filter, so no f-string of a topic lives anywhere else."""

    CLOUD_UPLINK_FILTER = f"{_STORES}/+/up/+/+"
    """What one cloud ingest process subscribes to for batches; several split it by store
    (``store_uplink_filter``, ``sync_protocol.partition``), not with ``$share/``, which splits a stream."""
    CLOUD_STATUS_FILTER = f"{_STORES}/+/status/+"

    @staticmethod
    def uplink(store_id: str, device_id: str, stream: Stream) -> UplinkTopic:
        return UplinkTopic(store_id, device_id, stream)

    @staticmethod
    def ack(store_id: str, device_id: str) -> AckTopic:
        return AckTopic(store_id, device_id)

    @staticmethod
    def downlink(store_id: str, device_id: str, kind: DownlinkKind) -> DownlinkTopic:
        return DownlinkTopic(store_id, device_id, kind)

    @staticmethod
    def status(store_id: str, device_id: str) -> StatusTopic:
        return StatusTopic(store_id, device_id)

    @staticmethod
    def store_uplink_filter(store_id: str) -> str:
        """One store's batches, every device and stream: an ingest worker's share (``partition``)."""
        _check_id("storeId", store_id)
        return f"{_STORES}/{store_id}/up/+/+"

    @staticmethod
    def store_status_filter(store_id: str) -> str:
        _check_id("storeId", store_id)
        return f"{_STORES}/{store_id}/status/+"

    @staticmethod
    def device_downlink_filter(store_id: str, device_id: str) -> str:
        """What a device subscribes to for its downlink messages (every kind)."""
        _check_id("storeId", store_id)
        _check_id("deviceId", device_id)
        return f"{_STORES}/{store_id}/down/{device_id}/+"


def parse_topic(name: str) -> Topic:
    """The topic ``name`` stands for; raises ``InvalidTopic`` for anything that is not exactly one of ours
    (other prefixes, wildcards, empty or extra levels, ids with characters a topic level cannot hold)."""
    if not isinstance(name, str) or not name or len(name) > MAX_TOPIC_LENGTH:
        raise InvalidTopic(f"not a topic of ours: {name!r}")
    if not name.startswith(_STORES + "/"):
        raise InvalidTopic(f"not under {_STORES}/: {name!r}")
    levels = name[len(_STORES) + 1 :].split("/")
    try:
        match levels:
            case [store_id, "up", device_id, stream]:
                return UplinkTopic(store_id, device_id, _member(Stream, stream))
            case [store_id, "ack", device_id]:
                return AckTopic(store_id, device_id)
            case [store_id, "down", device_id, kind]:
                return DownlinkTopic(store_id, device_id, _member(DownlinkKind, kind))
            case [store_id, "status", device_id]:
                return StatusTopic(store_id, device_id)
    except InvalidTopic as exc:
        raise InvalidTopic(f"{exc} (in {name!r})") from None
    raise InvalidTopic(f"not a topic of ours: {name!r}")


def _member(enum: type[_E], value: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        raise InvalidTopic(f"unknown {enum.__name__} {value!r}") from None


def worker_username(worker: int = 0, base: str = CLOUD_USERNAME) -> str:
    """The broker account of cloud ingest worker ``worker`` (``sync_protocol.partition``): ``edgestore-cloud``
    for the first (and a single one), ``edgestore-cloud-1``... for the others. Each needs its own: the broker
    binds the client id to the login (``use_username_as_clientid``), so two workers on one account would take
    each other's connection over and over."""
    return base if worker == 0 else f"{base}-{worker}"


def cloud_workers_in(usernames: Iterable[str], base: str = CLOUD_USERNAME) -> int:
    """How many ingest workers' accounts (``worker_username``) are among ``usernames``: 1 + the highest K of
    ``edgestore-cloud-K`` (0 when not even ``edgestore-cloud`` is there). A process rewriting the broker's
    files keeps every worker's rights, whatever its own partition says."""
    found = [
        0 if name == base else int(name[len(base) + 1 :]) for name in usernames if _is_worker(name, base)
    ]
    return 1 + max(found) if found else 0


def _is_worker(name: str, base: str) -> bool:
    return name == base or (name.startswith(f"{base}-") and name[len(base) + 1 :].isdigit())


def mosquitto_acl(
    devices: Mapping[str, str] | None = None, *, cloud_username: str = CLOUD_USERNAME, cloud_workers: int = 1
) -> str:
    """The broker's ACL file (Mosquitto ``acl_file`` syntax), for ``devices`` (deviceId -> storeId): what the
    cloud writes beside the password file, and rewrites whenever a device is registered or revoked.

    Why these lines. Mosquitto authenticates only the username (by password); the client id is whatever the
    client sends. So the ACL trusts only the username (= deviceId) and never ``%c``: trusting a client id
    would let any device claim another's. Each device gets its own block naming its store:
    - publish only on ``stores/<its store>/up/<its id>/<stream>`` and ``.../status/<its id>``;
    - receive only ``stores/<its store>/ack/<its id>`` and ``.../down/<its id>/<kind>``.
    Everything else is denied (Mosquitto denies what no line grants once an ACL file is set).

    Without ``devices`` (a broker whose ACL the cloud does not manage) the device lines are ``pattern``
    lines with ``%u``: each device still only on topics carrying its own id, but under any store; the cloud
    then refuses another store's uplink as ``unauthorised``.
    """
    if not cloud_username or any(c in cloud_username for c in " \t\r\n+#/%"):
        raise ValueError(f"unusable broker username for the cloud: {cloud_username!r}")
    lines = [
        "# edgestore MQTT ACL: generated by sync_protocol.topics.mosquitto_acl(); do not edit by hand.",
        "# Devices log in with username = deviceId; every topic a device may use carries that id.",
    ]
    if devices is None:
        lines += [
            f"pattern write {_STORES}/+/up/%u/+",
            f"pattern write {_STORES}/+/status/%u",
            f"pattern read {_STORES}/+/ack/%u",
            f"pattern read {_STORES}/+/down/%u/+",
        ]
    lines += ["", "# The cloud reads every store's uplink and status, and writes acks and downlink messages."]
    for worker in range(cloud_workers):  # one account per ingest worker
        lines += [
            f"user {worker_username(worker, cloud_username)}",
            f"topic read {_STORES}/+/up/+/+",
            f"topic readwrite {_STORES}/+/status/+",
            f"topic write {_STORES}/+/ack/+",
            f"topic write {_STORES}/+/down/+/+",
            "",
        ]
    for device_id, store_id in sorted((devices or {}).items()):
        _check_id("device id", device_id)
        _check_id("store id", store_id)
        if device_id == cloud_username:
            raise ValueError(f"a device cannot be named like the cloud: {device_id!r}")
        lines += [
            f"user {device_id}",
            f"topic write {_STORES}/{store_id}/up/{device_id}/+",
            f"topic write {_STORES}/{store_id}/status/{device_id}",
            f"topic read {_STORES}/{store_id}/ack/{device_id}",
            f"topic read {_STORES}/{store_id}/down/{device_id}/+",
            "",
        ]
    return "\n".join(lines)
