"""The bridge's settings: flags, then ``EDGESTORE_*`` variables, then the node's TOML file (the one
``edgestore provision`` writes), so a provisioned Pi's bridge keeps its key beside the node's data."""

from pathlib import Path

from pydantic import Field

from plumbing import EdgestoreSettings


class BleSettings(EdgestoreSettings):
    data_dir: Path = Field(default=Path("./edgestore-data"), description="The node's data folder")
    ble_transport: str = Field(
        default="hci-socket:0",
        description="bumble's HCI transport: hci-socket:0 is the Pi's adapter (bluetoothd kept off it); "
        "tcp-client:HOST:PORT a virtual controller",
    )
    ble_name: str = Field(
        default="edgestore",
        max_length=29,
        description="The name phones see when they scan (no personal data)",
    )
    ble_edge_url: str = Field(default="http://127.0.0.1:8080", description="The store node's API")

    @property
    def key_file(self) -> Path:
        """The cart tokens' key (``edge.ble.cart_tokens``)."""
        return self.data_dir / "ble-cart-key"
