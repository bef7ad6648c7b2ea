"""The one client of the store node's HTTP API: typed calls (the ``models`` schemas), safe retries, and
the node's refusals as exceptions. Used by the kiosk, the BLE bridge and the ``edgestore`` CLI.

Of the project it imports only ``models`` (an import-linter contract keeps it so), so a kiosk installs
httpx and pydantic and none of the node. Usage, retries and errors: docs/node-client.md.
"""

from node_client.client import API_PREFIX, DEFAULT_TIMEOUT, NodeClient, new_idempotency_key
from node_client.errors import (
    Busy,
    Conflict,
    Forbidden,
    Invalid,
    NodeClientError,
    NodeError,
    NodeUnreachable,
    NotFound,
    NotReady,
    TooLarge,
    TooMany,
    Unauthenticated,
    UnexpectedResponse,
)
from node_client.retrying import RetryPolicy

__all__ = [
    "API_PREFIX",
    "DEFAULT_TIMEOUT",
    "Busy",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NodeClient",
    "NodeClientError",
    "NodeError",
    "NodeUnreachable",
    "NotFound",
    "NotReady",
    "RetryPolicy",
    "TooLarge",
    "TooMany",
    "Unauthenticated",
    "UnexpectedResponse",
    "new_idempotency_key",
]
