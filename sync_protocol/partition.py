"""Which cloud ingest worker takes which store's streams, when one process is not enough (docs/scaling.md).

Each stream must have one writer at a time to keep its order: MQTT shared subscriptions on Mosquitto 2.0
hand messages out one by one, so a stream split across workers arrives out of order (exactly-once still
holds through the sequence row lock, but acks then report gaps that make nodes resend). So workers split
the uplink by store instead: worker ``index`` of ``count`` subscribes to the topics of the stores whose id
hashes to it, and every device of a store goes to the same worker. The hash is SHA-256 of the store id, the
same in every process and on every machine (Python's ``hash`` of a str is salted per process).
"""

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(
                f"a partition is INDEX/COUNT with 0 <= INDEX < COUNT, not {self.index}/{self.count}"
            )

    @classmethod
    def parse(cls, text: str) -> "Partition":
        """``"1/4"``: the second of four workers."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"a partition is INDEX/COUNT, e.g. 0/2, not {text!r}")
        return cls(int(index), int(count))

    @property
    def whole(self) -> bool:
        """One worker takes everything."""
        return self.count == 1

    def owns(self, store_id: str) -> bool:
        return store_partition(store_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def store_partition(store_id: str, count: int) -> int:
    """The worker (0..count-1) that takes ``store_id``'s streams."""
    digest = hashlib.sha256(store_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count
