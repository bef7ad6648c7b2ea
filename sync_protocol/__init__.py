"""How store nodes and the cloud reconcile: streams, envelopes and merge rules (pure core) and transports.

The core imports only ``models``; transports live in modules of their own at the edge of this package.
"""

from sync_protocol.streams import Stream

__all__ = ["Stream"]
