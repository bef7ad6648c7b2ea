"""Shoppers' phones over Bluetooth LE (issue 20, docs/ble-protocol.md).

The phone bridge: a GATT service on the store node's Pi that answers a small set of shopper operations
(store info, catalog, product detail, a cart, its hand-off to the kiosk, a receipt) by calling the node's
HTTP API through ``node_client``, like the kiosk. It holds no business logic of its own and imports nothing
of the node's internals (a test in tests/edge/ble keeps it so).

- ``protocol``: the wire format, pure: operations, statuses, chunk and message layout, reassembly.
- ``bridge``: one connected phone's requests answered (limits, cart tokens, the node's refusals mapped).
- ``client``: the phone's side of the protocol (requests, retries, timeouts), for ``edgestore ble call``.
- ``bumble_link`` / ``bleak_link``: the radio (Google's bumble, on BlueZ's HCI socket on a Pi or a virtual
  controller in tests and the demo; bleak for the client on a laptop's adapter).
"""
