"""The store node's settings: one object, read once from ``EDGESTORE_*`` variables or a TOML file."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from plumbing import EdgestoreSettings
from sync_protocol.encoding import ContentEncoding
from sync_protocol.sequence import DEFAULT_SEND_WINDOW, DEFAULT_WINDOW


class EdgeSettings(EdgestoreSettings):
    """Every setting has a default, so a bare ``edgestore edge serve`` works on any machine.

    Sources, strongest first: constructor arguments (CLI flags), ``EDGESTORE_*`` environment variables, the
    TOML file named by ``EDGESTORE_CONFIG_FILE`` (``plumbing.settings_sources``).
    """

    data_dir: Path = Field(default=Path("./edgestore-data"), description="Holds edge.sqlite3 and node files")
    host: str = Field(default="127.0.0.1", description="Bind address of the node's HTTP API")
    port: int = Field(default=8080, ge=1, le=65535)
    store_id: str | None = Field(
        default=None, description="This node's store; set by provisioning or taken from the loaded catalog"
    )
    device_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="The device id the cloud registered for this node (its MQTT username); set by "
        "provisioning; unset: the id the node made for itself on first start",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=5000, ge=0, description="How long a writer waits for the lock"
    )
    sqlite_synchronous: str = Field(
        default="FULL",
        pattern="^(FULL|NORMAL)$",
        description="FULL survives power loss without losing an acknowledged sale; NORMAL is faster",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://DEVICE_ID:PASSWORD@broker:1883 (mqtts:// for TLS), from provisioning; unset: the "
        "node sells offline and keeps its outbox",
    )
    cloud_url: str | None = Field(
        default=None,
        description="The cloud's address, from provisioning: `edgestore doctor` compares this machine's clock "
        "with it; the node itself reaches the cloud only through the broker and the links it announces",
    )
    sync_interval_s: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description="While linked, how often the sync agent looks for what to send when nothing nudged it "
        "(a sale or a return sends at once)",
    )
    sync_content_encoding: ContentEncoding = Field(
        default=ContentEncoding.COMPACT_ZSTD,
        description="How the node's uplink batches travel: compact2+zstd (a twelfth of the bytes of a backlog), "
        "json+zstd (the batch's JSON compressed) or json (version 1, for a cloud older than issue 22: the cloud "
        "learns an encoding before nodes send it; the node then asks for its downlink as JSON too, in a status of "
        "schema version 5, where otherwise it takes json+zstd)",
    )
    sync_window: int = Field(
        default=DEFAULT_SEND_WINDOW,
        ge=1,
        le=DEFAULT_WINDOW,
        description="How many outbox rows of one stream may be out unacknowledged at once (the uplink's "
        "in-flight window, measured in docs/performance.md); at most the cloud's sequence window",
    )
    sync_status_interval_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="While linked, the node announces its downlink position at least this often; the cloud "
        "prunes the store's feed up to the lowest position its devices announced",
    )
    staff_session_minutes: int = Field(
        default=480,
        ge=1,
        le=480,
        description="How long a staff login's token works (at most a shift, 8 hours); then log in again",
    )
    handoff_ttl_seconds: int = Field(
        default=600,
        ge=30,
        le=86_400,
        description="How long a cart hand-off code (a phone's cart for a kiosk to take over) can be claimed",
    )
    cart_idle_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 30,
        description="An open cart (or a phone's handed-off one) untouched this long is deleted: a shopper who "
        "walked away, or carts a phone made and left",
    )
    page_size_default: int = Field(default=20, ge=1, le=100)
    recognition_enabled: bool = Field(
        default=True, description="Run product recognition (POST /api/v1/recognize) with the node's model"
    )
    recognition_threads: int = Field(
        default=1, ge=1, le=8, description="CPU threads the recognition model may use (the Pi has 4 cores)"
    )
    recognition_bundle: Path | None = Field(
        default=None,
        description="The model bundle served until the cloud delivers one; unset: the one shipped with the "
        "node (edge/recognition/assets/product-recognizer.zip)",
    )
    recognition_max_image_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="Largest photo accepted by recognize and enroll"
    )

    # The hardware and screens this node is set up to have (issue 19): ``edgestore doctor`` reports one that
    # is not enabled as absent, not failed, and fails one that is enabled but missing.
    camera_enabled: bool = Field(
        default=False, description="A camera is attached (a USB /dev/video* one or the Pi camera)"
    )
    pir_enabled: bool = Field(default=False, description="A PIR motion sensor is wired to the GPIO header")
    ble_enabled: bool = Field(default=False, description="A Bluetooth LE adapter serves the shoppers' phones")
    # The door counter (issue 21, docs/footfall-device.md): ``edgestore footfall calibrate`` writes these two.
    footfall_line: str | None = Field(
        default=None,
        pattern=r"^\s*[-+0-9.eE]+\s*,\s*[-+0-9.eE]+\s*,\s*[-+0-9.eE]+\s*,\s*[-+0-9.eE]+\s*$",
        description="The door line as X1,Y1,X2,Y2, fractions of the camera's frame (0..1); unset: a "
        "horizontal line across the middle",
    )
    footfall_in_side: Literal[-1, 1] = Field(
        default=1, description="Which side of the door line is inside the store: +1 or -1 (see calibrate)"
    )
    footfall_camera: str = Field(
        default="pi", description="The door counter's camera: pi, v4l2:N, v4l2:/dev/videoN or file:PATH"
    )
    footfall_pir_pin: int = Field(default=17, ge=0, le=27, description="The PIR's output on this GPIO (BCM)")
    footfall_detector: Literal["mog2", "knn", "tflite"] = Field(
        default="mog2",
        description="How the door counter finds people: background subtraction (mog2, knn) or the TFLite "
        "person detector (tflite: sees people standing still; its speed on a Pi is not measured yet, "
        "docs/footfall.md)",
    )
    kiosk_enabled: bool = Field(
        default=False, description="This machine also runs the kiosk on its own display (edgestore kiosk)"
    )

    @property
    def database_path(self) -> Path:
        return self.data_dir / "edge.sqlite3"
