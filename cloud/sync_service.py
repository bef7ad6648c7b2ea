"""The cloud's MQTT side: uplink batches in, acks out, and device presence (online / last will).

Every uplink message goes through ``cloud.sync_ingest.handle_uplink`` (one Postgres transaction) before its
ack is published, and the MQTT delivery itself is acknowledged to the broker only after that, so a cloud
killed at any point gets the batch again and the sequence state turns it into a no-op.
"""

import logging
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, update

from cloud import notifications
from cloud.runtime import Cloud
from cloud.sync_ingest import dead_letter, handle_uplink
from cloud.tables import devices, stores
from models.cloud_api import NotificationKind
from sync_protocol.encoding import decode_status, encode
from sync_protocol.errors import InvalidTopic, MessageRejected
from sync_protocol.mqtt_link import MqttLink, MqttSettings
from sync_protocol.topics import StatusTopic, Topics, UplinkTopic, parse_topic

log = logging.getLogger(__name__)


class SyncService:
    def __init__(self, cloud: Cloud, mqtt: MqttSettings, clock: Callable[[], datetime]) -> None:
        self.cloud = cloud
        self.clock = clock
        if not mqtt.client_id:
            mqtt = replace(mqtt, client_id=f"edgestore-cloud-{socket.gethostname()}")
        self.link = MqttLink(mqtt, self._on_message)
        self.link.subscribe(Topics.CLOUD_UPLINK_FILTER)
        self.link.subscribe(Topics.CLOUD_STATUS_FILTER)

    def start(self, *, wait_s: float | None = 10.0) -> bool:
        return self.link.start(wait_s=wait_s)

    def close(self) -> None:
        self.link.close()

    def _on_message(self, topic: str, data: bytes) -> None:
        try:
            parsed = parse_topic(topic)
        except InvalidTopic:
            parsed = None
        if isinstance(parsed, StatusTopic):
            self._presence(parsed, topic, data)
            return
        if parsed is not None and not isinstance(parsed, UplinkTopic):
            return  # our own acks and downlink echo back to us only if the ACL allowed it: ignore them
        ack = handle_uplink(
            self.cloud.db, topic, data, self.clock(), low_threshold=self.cloud.settings.low_stock_threshold
        )
        if ack is not None:
            self.link.publish(str(Topics.ack(ack.store_id, ack.device_id)), encode(ack), wait=False)

    def _presence(self, parsed: StatusTopic, topic: str, data: bytes) -> None:
        now = self.clock()
        with self.cloud.db.transaction() as conn:
            try:
                status = decode_status(data)
            except MessageRejected as exc:
                dead_letter(conn, topic=topic, reason=exc.reason.value, detail=exc.detail, data=data, now=now)
                return
            row = conn.execute(
                select(devices.c.seller_id, devices.c.name, stores.c.name.label("store_name"))
                .join(stores, stores.c.store_id == devices.c.store_id)
                .where(
                    devices.c.device_id == parsed.device_id,
                    devices.c.store_id == parsed.store_id,
                    devices.c.revoked_at.is_(None),
                )
            ).first()
            if row is None or status.device_id != parsed.device_id or status.store_id != parsed.store_id:
                dead_letter(
                    conn,
                    topic=topic,
                    reason="unauthorised",
                    detail="status of an unknown device",
                    data=data,
                    now=now,
                )
                return
            conn.execute(
                update(devices).where(devices.c.device_id == parsed.device_id).values(last_seen_at=now)
            )
            if not status.online:
                label = row.name or parsed.device_id
                notifications.notify(
                    conn,
                    row.seller_id,
                    NotificationKind.STORE_OFFLINE,
                    f"門市裝置離線：{label}（{row.store_name}）",
                    body="裝置未正常斷線（斷電或斷網）；門市仍可離線銷售，恢復連線後會自動同步。",
                    ref_type="store",
                    ref_id=parsed.store_id,
                    data={
                        "deviceId": parsed.device_id,
                        "titleEn": f"Store device offline: {label} ({row.store_name})",
                        "bodyEn": "The device dropped off without saying goodbye (power or network); the store "
                        "keeps selling offline and syncs when it is back.",
                    },
                    now=now,
                )
