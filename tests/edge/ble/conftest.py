"""The bridge against a real node (tests/edge's ``edge`` fixture): a ``PhoneBridge`` calling it through
``node_client``, and phones on in-memory links to it."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.ble.bridge import Limits, PhoneBridge
from edge.ble.cart_tokens import CartTokens
from node_client import NodeClient


@pytest.fixture
def node(edge) -> Iterator[NodeClient]:
    with NodeClient(edge.base_url, retries=0) as client:
        yield client


@pytest.fixture
def bridge(node, tmp_path: Path) -> PhoneBridge:
    # Generous limits: the rate-limit tests make their own bridge.
    return PhoneBridge(
        node, CartTokens.from_file(tmp_path / "ble-cart-key"), time.monotonic, Limits(rate=1000, burst=1000)
    )
