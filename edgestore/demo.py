"""``edgestore demo``: the whole system on embedded defaults, on one machine, linked.

The cloud (embedded PostgreSQL, montydb, local files; a demo seller with history, and a manager and a
cashier at its first store) with its sync service, a Mosquitto broker configured the way ``edgestore cloud
broker-config`` configures one, and one store node registered as a device of the demo seller's first
store, selling that store's catalog from the cloud (its staff logging in with the PINs the banner prints) and
draining its sales to the cloud over MQTT. It prints what runs where and what to try, then serves until
Ctrl-C (or SIGTERM), which stops the node, the cloud and the broker in that order.

A second run on the same data folder finds everything it made the first time: the seller, the node's device
(its MQTT password is kept in the node's folder, since the cloud shows it only once), the node's sales.
"""

import contextlib
import getpass
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer

from cloud.runtime import Cloud
from cloud.settings import CloudSettings
from edge import node_state
from edge import staff as node_staff
from edge.catalog import load_snapshot
from edge.node import Node
from edge.settings import EdgeSettings
from edgestore.demo_ble import DemoPhoneBridge, ble_banner, start_phone_bridge
from edgestore.demo_cloud import (
    DemoClaim,
    DemoCloud,
    DemoDevice,
    DemoStaff,
    demo_claim_code,
    ensure_demo_device,
    ensure_demo_staff,
    seed_demo_cloud,
    store_snapshot,
)
from edgestore.demo_footfall import DemoDoor, door_banner
from models.catalog import CatalogSnapshot
from models.staff import StaffRole
from plumbing import MOSQUITTO, Mosquitto, ServedApp, client_host, free_port, utcnow
from plumbing.display import desktop_display
from sync_protocol.topics import CLOUD_USERNAME

if TYPE_CHECKING:  # numpy and the recognizer load only when the demo enrols
    from edgestore.demo_recognition import CloudKit

_SignalHandler = Callable[[int, FrameType | None], Any] | int | None
"""What ``signal.getsignal`` returns and ``signal.signal`` takes back."""

TRY_VARIANT = "pineapple-cake-1"  # the demo catalog's (and so the demo seller's) pineapple cake, box of 6
LINK_WAIT_S = 20.0


@dataclass(kw_only=True)
class DemoBroker(Mosquitto):
    """Mosquitto for the demo, configured in ``folder`` as ``edgestore cloud broker-config --out folder``
    configures a deployment's (``write_files``): the ``mosquitto.conf`` of ``sync_protocol.broker_config``,
    the password file of the live devices plus the cloud's own account, the ACL binding each device to its
    store. The cloud's settings name the same password file, ACL and pid file, so a device registered while
    the demo runs (the demo node's, or one from the dashboard) can log in at once: the cloud rewrites both
    files, keeping its own account, and sends the broker SIGHUP. ``plumbing.Mosquitto`` runs the process:
    in a session of its own (a terminal's Ctrl-C reaches the demo, which stops the broker last), dying with
    the demo even when the demo is killed outright."""

    cloud_password: str = field(repr=False)

    @property
    def password_file(self) -> Path:
        return self.folder / "passwords"  # the cloud's EDGESTORE_BROKER_PASSWORD_FILE

    @property
    def acl_file(self) -> Path:
        return self.folder / "acl"  # the cloud's EDGESTORE_BROKER_ACL_FILE

    @property
    def pid_file(self) -> Path:
        return self.folder / "mosquitto.pid"  # the cloud's EDGESTORE_BROKER_PID_FILE (mosquitto_conf's)

    @property
    def url(self) -> str:
        return f"mqtt://{client_host(self.host)}:{self.port}"

    def device_url(self, device: DemoDevice) -> str:
        login = f"{quote(device.device_id, safe='')}:{quote(device.password, safe='')}"
        return f"mqtt://{login}@{client_host(self.host)}:{self.port}"

    @property
    def cloud_url(self) -> str:
        login = f"{CLOUD_USERNAME}:{quote(self.cloud_password, safe='')}"
        return f"mqtt://{login}@{client_host(self.host)}:{self.port}"

    def write_files(self, cloud: Cloud) -> None:
        """What ``edgestore cloud broker-config`` writes, from the open cloud's device registry; the demo's
        broker stays the user who runs it (as root, mosquitto would switch to 'mosquitto', who cannot read
        these files) and logs to mosquitto.log beside them."""
        from cloud import devices

        with cloud.db.read() as conn:
            devices.write_broker_config(
                conn,
                self.folder,
                cloud_password=self.cloud_password,
                port=self.port,
                bind=self.host,
                run_as=getpass.getuser(),
                extra_conf="log_type error\nlog_type warning\nlog_type notice\n",
            )

    def forget_stale(self) -> None:
        """Before the cloud opens (it signals the pid file's process): end a broker left by a demo that was
        killed outright, and drop a pid file whose process is gone or someone else."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid is not None and str(self.config_path).encode() in _cmdline(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _cmdline(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def node_identity(settings: EdgeSettings) -> tuple[str, str | None] | None:
    """The device and store ids of the node in ``settings.data_dir``; None when it has no database yet."""
    if not settings.database_path.exists():
        return None
    node = Node.open(settings.model_copy(update={"store_id": None}))
    try:
        with node.db.read() as conn:
            return node.device_id, node_state.get(conn, node_state.STORE_ID)
    finally:
        node.close()


def prepare_edge(settings: EdgeSettings, device: DemoDevice, snapshot: CatalogSnapshot) -> int | None:
    """Open (creating if needed) the node's database as the cloud's device of its store, and load the store's
    catalog from the cloud if the node has none yet: its stock levels and staff, and the downlink feed
    position they count (later versions and staff changes come over the downlink)."""
    node = Node.open(settings)
    try:
        with node.db.write() as conn:
            node_state.put(conn, node_state.DEVICE_ID, device.device_id)
            if node_state.catalog_version(conn) is None:
                load_snapshot(conn, snapshot, node.now())
                node_staff.apply_records(conn, snapshot.staff, node.now())
            return node_state.catalog_version(conn)
    finally:
        node.close()


def try_variant(snapshot: CatalogSnapshot) -> str:
    """The variant the banner's cart sells: the pineapple cake, as the demo seller's catalog has it (a data
    folder seeded before the cloud kept the demo catalog's variant ids has it under another id)."""
    found = [v for p in snapshot.products for v in p.variants]
    for variant in found:
        if variant.variant_id == TRY_VARIANT or (variant.sku or "").lower() == TRY_VARIANT:
            return variant.variant_id
    return found[0].variant_id if found else TRY_VARIANT


@dataclass
class Link:
    """How the node's link to the cloud stands when the banner is printed."""

    node_connected: bool
    cloud_saw_node_at: datetime | None

    def describe(self, broker_url: str) -> str:
        if self.node_connected and self.cloud_saw_node_at is not None:
            return (
                f"online: the node is connected to {broker_url} and the cloud's sync service saw it "
                f"at {self.cloud_saw_node_at.astimezone(UTC):%H:%M:%S} UTC"
            )
        if self.node_connected:
            return f"connected to {broker_url}; waiting for the cloud's sync service to see the node"
        return f"connecting to {broker_url} (the node sells offline meanwhile and sends its sales when it gets through)"


def banner(
    settings: EdgeSettings,
    device: DemoDevice,
    catalog_version: int | None,
    cloud: CloudSettings,
    seeded: DemoCloud,
    broker: DemoBroker,
    link: Link,
    *,
    variant_id: str = TRY_VARIANT,
    credentials: Path | None = None,
    staff: Sequence[DemoStaff] = (),
    claim: DemoClaim | None = None,
) -> str:
    api = f"http://{client_host(settings.host)}:{settings.port}/api/v1"
    web = web_url(cloud)
    capi = f"{web}/api/v1"
    store = (
        seeded.stores[seeded.store_ids.index(device.store_id)] if device.store_id in seeded.store_ids else ""
    )
    team = "\n".join(
        f"  {m.role.value:<21}{m.name} / PIN {m.pin or '(changed in the dashboard)'}"
        + ("   <- returns, refunds, cancels" if m.role is StaffRole.MANAGER else "")
        for m in staff
    )
    boss = next((m for m in staff if m.role is StaffRole.MANAGER and m.pin), None)
    boss_login = json.dumps(
        {"name": boss.name, "pin": boss.pin} if boss else {"name": "NAME", "pin": "PIN"},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"""
edgestore demo
==============
Cloud (cloud/)         {web}/             <- sellers' dashboard (zh-TW / English)
  login                {seeded.account} / {seeded.password}
  API                  {capi}   docs {web}/docs
  data                 {cloud.cloud_data_dir} (embedded PostgreSQL, montydb, local files)
  demo seller          {seeded.products} products, stores: {", ".join(seeded.stores)}, {seeded.orders} orders of history
  sync service         takes the stores' sales and presence from the broker, sends acks, stock and catalog;
                       batches travel as compact2+zstd (about 200 bytes an order), written set-based per batch;
                       the downlink as json+zstd when smaller (a 100-product catalog delta: 4.4 of 57 kB);
                       one ingest worker here, applying two device streams at once (EDGESTORE_INGEST_THREADS);
                       several workers split the stores between them (docs/scaling.md)

Broker (Mosquitto)     {broker.url}   <- store nodes log in with their device id and password
  config               {broker.config_path} (`edgestore cloud broker-config`'s; the cloud
                       rewrites the password file and ACL when a device comes or goes, then reloads it)

Store node (edge/)     {api}
  API docs             http://{client_host(settings.host)}:{settings.port}/docs
  data                 {settings.database_path}
  store                {store} ({device.store_id}) of the demo seller
  device id            {device.device_id} (registered in the cloud; MQTT login in {credentials})
  catalog version      {catalog_version} (the store's catalog from the cloud, zh-TW and English)
  cloud link           {link.describe(broker.url)}
Store staff            log in at the node with name and PIN (no cloud needed); {web}/staff manages them
{team}

Try the cloud:
  open {web}/ and log in; the bell (top right) updates live
  {web}/recognition: the recognition model's versions (upload one, roll back to an older one; a node
      that refuses a model rings the bell and is named there)
  TOKEN=$(curl -s -X POST {capi}/auth/login -H 'content-type: application/json' \\
      -d '{{"account":"{seeded.account}","password":"{seeded.password}"}}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  curl -s -H "Authorization: Bearer $TOKEN" '{capi}/orders?limit=3'
  curl -s -H "Authorization: Bearer $TOKEN" {capi}/dashboard/summary
  curl -s -H "Authorization: Bearer $TOKEN" {capi}/notifications
  curl -sN -H "Authorization: Bearer $TOKEN" {capi}/notifications/stream   # the live bell (SSE)

Try the store node:
  curl -s {api}/health
  curl -s -G {api}/catalog/products --data-urlencode 'q=奶茶'
  curl -s '{api}/catalog/products?q=pineapple'
  CART=$(curl -s -X POST {api}/carts -H 'content-type: application/json' \\
      -d '{{"items":[{{"variantId":"{variant_id}","quantity":2}}]}}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["cartId"])')
  curl -s -X POST {api}/carts/$CART/checkout -H 'content-type: application/json' \\
      -d '{{"paymentMethod":"cash","couponCode":"WELCOME100","idempotencyKey":"demo-'$CART'"}}'
  STAFF=$(curl -s -X POST {api}/staff/login -H 'content-type: application/json' \\
      -d '{boss_login}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
      # a staff token (8 hours): orders, sync status and returns are staff only
  curl -s -H "Authorization: Bearer $STAFF" {api}/orders

Try the sync: the checkout above reaches the cloud within seconds
  curl -s -H "Authorization: Bearer $STAFF" {api}/sync/status
      # pendingTotal goes back to 0 once the cloud has acknowledged the sale
  curl -s -H "Authorization: Bearer $TOKEN" '{capi}/orders?limit=1'   # the sale, at {store}
  the dashboard's bell rings (新訂單 New order) and {web}/orders lists it
  switch 中文 / EN in the dashboard's header: the bell, top products and stock read in English names
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Accept-Language: en' '{capi}/notifications?limit=1'
      # the same notification in English (Content-Language: en); stored as a kind and its params
And back down (the cloud's feed and catalog reach the node within a second or two):
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
      {capi}/stores/{device.store_id}/stock/adjustments -d '{{"variantId":"{variant_id}","kind":"restock","quantity":24}}'
  curl -s -G {api}/catalog/products --data-urlencode 'q=鳳梨酥'   # its "stock" (all sizes) rose by 24
  rename a product in {web}/products: /health's catalogVersion moves and the node shows the new name
  ORDER=$(curl -s -H "Authorization: Bearer $STAFF" '{api}/orders?limit=1' | python3 -c 'import sys,json;print(json.load(sys.stdin)["items"][0]["orderId"])')
  curl -s -X POST {api}/orders/$ORDER/transitions -H "Authorization: Bearer $STAFF" \\
      -H 'content-type: application/json' -d '{{"toStatus":"returned"}}'
      # a return at the counter (a manager's): goods back in stock here, the order "returned" in the
      # cloud too, its history naming who took it back ({web}/orders/$ORDER)
  curl -s -X PUT -H "Authorization: Bearer $TOKEN" --data-binary @/etc/hostname {capi}/models/product-recognizer
  curl -s {api}/health             # /etc/hostname is no model: "recognition": {{"rejected": {{"version": 1,
      # "reason": ...}}}}: fetched, checked, refused; the model shipped with the node serves on
  curl -s -H "Authorization: Bearer $TOKEN" {capi}/stores/{device.store_id}/devices
      # the node's downlinkSeq (reported every minute): the store's feed is pruned up to it
A device speaks only for its own store (docs/sync-protocol.md, "Trust"):
  curl -s -H "Authorization: Bearer $TOKEN" {capi}/sync/status
      # retrying (false unless Postgres fails) and deadLetters: records from your stores the cloud refused
  curl -s -X POST {api}/orders/$ORDER/transitions -H "Authorization: Bearer $STAFF" \\
      -H 'content-type: application/json' -d '{{"toStatus":"refunded","note":"broken\\u0000"}}'
      # 422: no control characters; nothing queued

Field staff (provisioning/, docs/field-guide.md):
  {web}/team: invite them (團隊 Team; the link is shown once); they set a password at the link, log in at
      {web}/login with their email and see only the stores, their claim codes and devices
  {web}/stores: 新增裝置認領碼 New claim code, shown once as text and QR (or by the API:)
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
      {capi}/stores/{device.store_id}/claim-codes -d '{{"expiresInMinutes":60}}'
      # a Pi claims it once with POST {capi}/devices/claim (its hardware id and an Ed25519 key)
  edgestore doctor --edge-url {api} --data-dir {settings.data_dir}        # add --json, --lang en
      # one line per check: OS, Python, disk, clock, camera, PIR, BLE, display, node, broker, outbox
{_provision_lines(web, claim, settings.data_dir.parent)}

Coupons: WELCOME100 (NT$100 off from NT$500), SAVE10 (10% off), ONCE50 (single use).
A node that never went online gets staff with `edgestore edge staff add NAME --role manager`.
Ctrl-C stops the demo (node, cloud, broker); the data stays in {settings.data_dir.parent}.
"""


def _provision_lines(web: str, claim: DemoClaim | None, data_dir: Path) -> str:
    """How to try provisioning a second Pi, here, into a folder: the code was made at this start."""
    if claim is None:
        return ""
    pi = data_dir / "second-pi"
    return f"""  a second Pi, provisioned into a folder (code {claim.code} for {claim.store}, good for a day):
  edgestore provision --cloud {web} --claim-code {claim.code} --root {pi} --port 8091 --no-kiosk
      # checks, claim, {pi}/etc/edgestore/edgestore.toml, database, the store's catalog, systemd units
  EDGESTORE_CONFIG_FILE={pi}/etc/edgestore/edgestore.toml edgestore edge serve   # that node, from its config
  edgestore prepare-image --boot /media/$USER/bootfs --cloud {web} --claim-code CODE --wheel dist/*.whl
      # a Raspberry Pi OS card that provisions its Pi on first boot (docs/field-guide.md)"""


def wait_for_link(
    node_app: Any, cloud_app: Any, device: DemoDevice, seeded: DemoCloud, since: datetime
) -> Link:
    """Wait (a while) until the node is connected and the cloud's sync service has recorded its presence."""
    from cloud import devices

    deadline = time.monotonic() + LINK_WAIT_S
    while True:
        connected = bool(node_app.state.node.cloud.connected)
        seen = None
        if connected:
            cloud = cloud_app.state.cloud
            with cloud.db.read() as conn:
                for d in devices.list_devices(conn, seeded.seller_id, device.store_id, since):
                    if d.device_id == device.device_id and d.last_seen_at and d.last_seen_at >= since:
                        seen = d.last_seen_at
        if seen is not None or time.monotonic() > deadline:
            return Link(connected, seen)
        time.sleep(0.2)


@dataclass
class Prepared:
    """What ``prepare`` made ready, for the servers and the banner."""

    seeded: DemoCloud
    device: DemoDevice
    snapshot: CatalogSnapshot
    settings: EdgeSettings
    catalog_version: int | None
    credentials: Path
    staff: list[DemoStaff]
    claim: DemoClaim


def prepare(
    data_dir: Path, port: int, host: str, cloud_settings: CloudSettings, broker: DemoBroker
) -> Prepared:
    """Everything before serving: the cloud seeded, the node's device registered (or found), the broker's
    files written, the node's database holding the device id and the store's catalog."""
    credentials = data_dir / "edge" / "cloud-device.json"
    broker.forget_stale()
    typer.echo("preparing the cloud (embedded PostgreSQL, migrations, demo seller, the node's device)...")
    settings = EdgeSettings(data_dir=data_dir / "edge", port=port, host=host)
    identity = node_identity(settings)
    cloud = Cloud.open(cloud_settings)
    try:
        seeded = seed_demo_cloud(cloud, utcnow(), progress=typer.echo)
        device, registered = ensure_demo_device(
            cloud,
            seeded,
            DemoDevice.load(credentials),
            utcnow(),
            node_device_id=identity[0] if identity else None,
        )
        team = ensure_demo_staff(cloud, seeded, utcnow())  # before the snapshot, which carries them
        claim = demo_claim_code(cloud, seeded, utcnow())
        snapshot = store_snapshot(cloud, seeded, device.store_id)
        broker.write_files(cloud)
    finally:
        cloud.close()
    if identity is not None and (
        identity[0] != device.device_id or identity[1] not in (None, device.store_id)
    ):
        aside = data_dir / f"edge-before-{utcnow():%Y%m%dT%H%M%S}"
        settings.data_dir.rename(aside)
        typer.echo(
            f"the store node in {settings.data_dir} was another device (an earlier demo's, or its login was "
            f"lost): moved to {aside}; this node starts fresh"
        )
    device.save(credentials)
    typer.echo(
        f"cloud: {'registered' if registered else 'found'} the store node's device {device.device_id} "
        f"in {seeded.stores[0]}"
    )
    settings = EdgeSettings(
        data_dir=data_dir / "edge",
        port=port,
        host=host,
        store_id=device.store_id,
        mqtt_url=broker.device_url(device),
    )
    typer.echo("preparing the store node (database, migrations, the store's catalog from the cloud)...")
    version = prepare_edge(settings, device, snapshot)
    return Prepared(seeded, device, snapshot, settings, version, credentials, team, claim)


def web_url(cloud: CloudSettings) -> str:
    """Where a person on this machine opens the cloud's dashboard."""
    if cloud.public_url is None:
        return f"http://{client_host(cloud.cloud_host)}:{cloud.cloud_port}"
    return cloud.base_url


def recognition_banner(
    node: Node, snapshot: CatalogSnapshot, settings: EdgeSettings, data_dir: Path, *, web: str
) -> str:
    """Enrol the store's products from generated photos (once), and say what to try."""
    from edgestore.demo_recognition import cloud_enrolment_kit, enrol_demo_products

    stills = data_dir / "kiosk" / "camera"
    try:
        added, model = enrol_demo_products(node, snapshot, stills)
        kit = cloud_enrolment_kit(node, snapshot, data_dir / "enrol-in-the-cloud")
    except Exception as problem:  # the demo runs on without recognition
        return f"Recognition            not ready ({problem}); the rest of the demo runs on\n"
    if model is None:
        return "Recognition            no model loaded at the node (GET /api/v1/recognition/status)\n"
    api = f"http://{client_host(settings.host)}:{settings.port}/api/v1"
    # The stills are named by product id (the cloud's ids in the demo): the latte's, for the lines below (a
    # still the node names: edgestore.demo_recognition.camera_still).
    latte = next((p for p in snapshot.products if any(v.variant_id == "latte-1" for v in p.variants)), None)
    photo = stills / f"{latte.product_id if latte else 'latte'}.jpg"
    return f"""Recognition (edge/recognition/)  model {model} (shipped with the node), each product enrolled from
six generated photos ({added} enrolled now); one more photo of each is in {stills}
  curl -s {api}/recognition/status
  curl -s -F image=@{photo} {api}/recognize        # 拿鐵 Caffè latte, with its confidence
  curl -s -F image=@ANY-OTHER-PHOTO.jpg {api}/recognize      # a thing not enrolled: "unknown": true
  curl -s -H "Authorization: Bearer $STAFF" -F variantId=latte-1 -F images=@{photo} {api}/recognition/enroll
  curl -s -X DELETE -H "Authorization: Bearer $STAFF" {api}/recognition/references/latte-1   # not recognised any more
{_cloud_enrolment_lines(kit, api, web)}"""


def _cloud_enrolment_lines(kit: "CloudKit | None", api: str, web: str) -> str:
    """What to try with the photos of ``cloud_enrolment_kit``."""
    if kit is None:
        return ""
    names = f"{kit.product.name} {kit.variant.name} ({kit.product.name_en}, {kit.variant.name_en})"
    return f"""Enrol in the cloud (the photos reach the node over sync, and every node of the seller):
  curl -s -F image=@{kit.query} {api}/recognize       # {names}: "unknown" for now
  open {web}/products/{kit.product.product_id}#recognition-photos and upload, for 「{kit.variant.name}」,
      the six photos in {kit.folder} (the Product recognition tab then shows the node holding the set)
  curl -s {api}/recognition/status                  # within seconds: cloudPhotosVersion, cloudReferences 6
  curl -s -F image=@{kit.query} {api}/recognize       # now it names {kit.variant.variant_id}
"""


def has_display() -> bool:
    return desktop_display()  # the demo opens the kiosk in a desktop's window, never full screen on KMS


def kiosk_command(settings: EdgeSettings, data_dir: Path) -> list[str]:
    """The self-checkout against the demo's node, its receipts printed into a file of the demo's folder."""
    api = f"http://{client_host(settings.host)}:{settings.port}/api/v1"
    return [
        "edgestore",
        "kiosk",
        "--edge-url",
        api,
        "--printer",
        f"file:{data_dir / 'kiosk' / 'receipts.bin'}",
        "--camera",
        f"files:{data_dir / 'kiosk' / 'camera'}",
    ]


def kiosk_banner(settings: EdgeSettings, data_dir: Path, *, opened: bool, asked: bool) -> str:
    command = " ".join(kiosk_command(settings, data_dir))
    if opened:
        where = (
            "its window is open on this display (a process of its own: closing it leaves the demo running)"
        )
    elif asked:
        where = "no display here: run it where there is one (on a Pi's touchscreen add --fullscreen)"
    else:
        where = "not opened (--no-kiosk)"
    return f"""Kiosk (kiosk_ui/)      {where}
  start                {command} [--size 1280x800] [--lang en]
  try                  touch to start; search with the Zhuyin keyboard: ㄓㄓㄋㄔ finds 珍珠奶茶; coupon SAVE10;
                       pay cash, or card (a simulated terminal that approves); an e-invoice carrier /ABC1234;
                       English with the 中文/English button
  staff mode           店員/Staff on the attract screen: BOSS, PIN 8642 (a manager); find an order by its
                       receipt number, take back some units or all of it; end of day: the X-report, then close
  teach a product      in staff mode, 登錄商品辨識/Teach a product: pick a variant, 開始拍照/Start takes six photos,
                       儲存/Save sends them to the node (this camera plays every product's still in turn: for a
                       clean try, restart the kiosk with --camera files:FOLDER holding photos of one product)
  receipts             {data_dir / "kiosk" / "receipts.bin"} (the ESC/POS bytes a receipt printer would get)
  scan                 掃描/Scan on the browse screen: the camera plays the stills in {data_dir / "kiosk" / "camera"}
                       (one generated photo per product, in turn); 辨識/Recognise names the product in view, or says
                       it does not know it (hold up anything else: a photo of your own in that folder)
"""


def _open_kiosk(settings: EdgeSettings, data_dir: Path) -> "subprocess.Popen[bytes] | None":
    """The kiosk as the shop runs it: a process of its own, a client of the node's API."""
    command = kiosk_command(settings, data_dir)
    command[0] = shutil.which("edgestore") or command[0]
    try:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    except OSError as problem:
        typer.echo(f"the kiosk did not start ({problem}); the rest of the demo runs on", err=True)
        return None


def _close_kiosk(window: "subprocess.Popen[bytes] | None") -> None:
    if window is not None and window.poll() is None:
        window.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            window.wait(timeout=10)


def _require_mosquitto() -> None:
    """The demo runs its own broker: without Mosquitto installed it says so and exits (status 2)."""
    if not Path(MOSQUITTO).is_file():
        typer.echo(
            "error: the demo runs Mosquitto, which is not installed: apt-get install mosquitto "
            "(scripts/bootstrap installs it)",
            err=True,
        )
        raise typer.Exit(2)


def _serve_until_stopped(served: list[ServedApp]) -> bool:
    """Serve until Ctrl-C or SIGTERM (True), or until a server stops on its own (False)."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stop.wait(0.5):
        if not all(s.running for s in served):
            typer.echo("error: a server stopped on its own; stopping the demo", err=True)
            return False
    return True


def _shut_down(served: list[ServedApp], broker: DemoBroker, on_interrupt: _SignalHandler) -> None:
    """Stop the servers, the node first (it says goodbye over the broker), then the broker; then Ctrl-C
    does again what it did before the demo (``on_interrupt``) and SIGTERM its default."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the shutdown short
    if served or broker.running:
        typer.echo("stopping: the store node, the cloud and its sync service, the broker...")
    for server in reversed(served):
        server.stop()
    broker.stop()
    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its data")] = Path("./edgestore-demo"),
    port: Annotated[int, typer.Option(help="Store node HTTP port")] = 8080,
    cloud_port: Annotated[int, typer.Option(help="Cloud HTTP port (dashboard and API)")] = 8000,
    broker_port: Annotated[int, typer.Option(help="MQTT port of the demo's broker (0: a free port)")] = 0,
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    kiosk: Annotated[bool, typer.Option(help="Open the self-checkout window when there is a display")] = True,
) -> None:
    """Run the whole system on embedded defaults on this machine, linked over MQTT, and print what to try."""
    import secrets

    from cloud.api.app import create_app as create_cloud_app
    from edge.api.app import create_app

    _require_mosquitto()
    data_dir = data_dir.resolve()  # Mosquitto reads absolute paths
    broker = DemoBroker(
        data_dir / "broker",
        host=host,
        port=broker_port or free_port(host),
        # a new one each run: only this process and the broker know it
        cloud_password=secrets.token_urlsafe(24),
    )
    cloud_settings = CloudSettings(
        cloud_data_dir=data_dir / "cloud",
        cloud_port=cloud_port,
        cloud_host=host,
        database_url=None,
        cloud_mqtt_url=broker.cloud_url,
        broker_password_file=broker.password_file,
        broker_acl_file=broker.acl_file,
        broker_pid_file=broker.pid_file,
    )
    # Each server in a thread of its own, so that this (main) thread keeps the signals and stops the servers
    # in the order it chooses.
    served: list[ServedApp] = []
    failed = False
    on_interrupt = signal.getsignal(signal.SIGINT)
    kiosk_window: subprocess.Popen[bytes] | None = None
    phones: DemoPhoneBridge | str = "not started"
    door: DemoDoor | None = None
    try:
        ready = prepare(data_dir, port, host, cloud_settings, broker)
        settings, device, snapshot = ready.settings, ready.device, ready.snapshot
        typer.echo(
            f"starting the broker (Mosquitto on {broker.url}), the cloud and its sync service, the node..."
        )
        broker.start()
        since = utcnow()
        served = [
            ServedApp(
                create_cloud_app(cloud_settings),
                cloud_port,
                host=host,
                name="the cloud",
                **cloud_settings.uvicorn_proxy_options(),  # X-Forwarded-For only from configured proxies
            ),
            ServedApp(create_app(settings), port, host=host, name="the store node"),
        ]
        for server in served:
            server.start(timeout_s=180)  # the cloud's first start creates its embedded PostgreSQL
        link = wait_for_link(served[1].app, served[0].app, device, ready.seeded, since)
        typer.echo(
            banner(
                settings,
                device,
                ready.catalog_version,
                cloud_settings,
                ready.seeded,
                broker,
                link,
                variant_id=try_variant(snapshot),
                credentials=ready.credentials,
                staff=ready.staff,
                claim=ready.claim,
            )
        )
        typer.echo(
            recognition_banner(
                served[1].app.state.node, snapshot, settings, data_dir, web=web_url(cloud_settings)
            )
        )
        kiosk_window = _open_kiosk(settings, data_dir) if kiosk and has_display() else None
        typer.echo(kiosk_banner(settings, data_dir, opened=kiosk_window is not None, asked=kiosk))
        phones = start_phone_bridge(f"http://{client_host(settings.host)}:{settings.port}", data_dir)
        variant_id = try_variant(snapshot)
        product_id = next(
            (p.product_id for p in snapshot.products for v in p.variants if v.variant_id == variant_id), ""
        )
        typer.echo(ble_banner(phones, product_id, variant_id))
        door = DemoDoor(served[1].app.state.node).start()
        api = f"http://{client_host(settings.host)}:{settings.port}/api/v1"
        typer.echo(door_banner(api, door.detector))
        failed = not _serve_until_stopped(served)
    except KeyboardInterrupt:
        typer.echo("interrupted")
    except RuntimeError as exc:  # the broker or a server did not start: say why, then clean up
        typer.echo(f"error: {exc}", err=True)
        failed = True
    finally:
        _close_kiosk(kiosk_window)
        if isinstance(phones, DemoPhoneBridge):
            phones.stop()
        if door is not None:
            door.stop()
        _shut_down(served, broker, on_interrupt)
    if failed:
        raise typer.Exit(1)
    typer.echo("demo stopped")
