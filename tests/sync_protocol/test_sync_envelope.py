"""The wire models: camelCase, versioned, one store/device/stream per batch with contiguous seqs, payloads that
match their stream, acks whose ranges make sense, and downlink messages that check themselves."""

import pytest
from pydantic import ValidationError

from models.order_states import Actor, OrderStatus
from models.staff import StaffRecord, StaffRole
from sync_protocol.encoding import decode_downlink, encode
from sync_protocol.envelope import (
    MAX_MESSAGES_PER_BATCH,
    RECOGNITION_PHOTOS_SCHEMA_VERSION,
    SCHEMA_VERSION,
    Ack,
    Batch,
    CatalogAnnouncement,
    CatalogChange,
    CatalogDelta,
    CatalogEntity,
    ChangeOp,
    DeviceStatus,
    Envelope,
    OrderStatusUpdate,
    OrderTransition,
    SeqRange,
    StaffChange,
    StockAdjustment,
    make_envelope,
    stream_of,
    validate_payload,
)
from sync_protocol.errors import MessageRejected, RejectReason
from sync_protocol.hlc import HLC
from sync_protocol.streams import DownlinkKind, Stream
from tests.sync_protocol.sync_factories import (
    DEVICE,
    OTHER_DEVICE,
    OTHER_STORE,
    STORE,
    T0,
    batch,
    envelope,
    footfall,
    order,
    stock_delta,
    transition,
    ulid,
    z_report,
)


def error_types(exc: ValidationError) -> set[str]:
    return {e["type"] for e in exc.errors()}


def test_an_envelope_is_camel_case_on_the_wire_with_the_current_version():
    env = envelope(1)
    wire = env.to_json_dict()
    assert list(wire) == [
        "schemaVersion", "messageId", "storeId", "deviceId", "stream", "seq", "hlc", "payload",
    ]  # fmt: skip
    assert wire["schemaVersion"] == SCHEMA_VERSION == 1
    assert wire["stream"] == "stockDeltas"
    assert wire["payload"]["deltaId"] == stock_delta(1).delta_id
    assert HLC.parse(wire["hlc"]).node == DEVICE


@pytest.mark.parametrize(
    ("payload", "stream"),
    [(order(), Stream.ORDERS), (stock_delta(), Stream.STOCK_DELTAS), (footfall(), Stream.FOOTFALL),
     (transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.STORE), Stream.ORDER_STATUS),
     (z_report(), Stream.Z_REPORTS)],
)  # fmt: skip
def test_the_stream_follows_from_the_payload_and_the_payload_validates_back(payload, stream):
    env = envelope(1, payload)
    assert env.stream is stream is stream_of(payload)
    assert validate_payload(env) == payload


def test_a_payload_of_no_stream_is_refused():
    with pytest.raises(TypeError):
        stream_of(SeqRange(first=1, last=1))  # type: ignore[arg-type]


def test_a_payload_that_does_not_fit_its_stream_is_a_bad_payload():
    env = envelope(3, stock_delta()).model_copy(update={"stream": Stream.ORDERS})
    with pytest.raises(MessageRejected) as caught:
        validate_payload(env)
    assert caught.value.reason is RejectReason.BAD_PAYLOAD
    assert caught.value.seqs == (3,)
    assert "seq 3" in caught.value.detail


def test_a_payload_for_another_store_is_a_bad_payload():
    env = envelope(1, stock_delta(store_id=OTHER_STORE))
    with pytest.raises(MessageRejected, match="payload is for store") as caught:
        validate_payload(env)
    assert caught.value.reason is RejectReason.BAD_PAYLOAD


def test_a_device_reports_only_its_own_transitions():
    forged = transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.SELLER, device="cloud-1")
    with pytest.raises(MessageRejected, match="made by cloud-1") as caught:
        validate_payload(envelope(4, forged))
    assert caught.value.reason is RejectReason.BAD_PAYLOAD


def test_an_envelope_stamped_by_another_device_is_inconsistent():
    with pytest.raises(ValidationError) as caught:
        Envelope(
            message_id=ulid(1),
            store_id=STORE,
            device_id=DEVICE,
            stream=Stream.FOOTFALL,
            seq=1,
            hlc=HLC(T0, 0, OTHER_DEVICE).encode(),
            payload={},
        )
    assert error_types(caught.value) == {"inconsistent"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("message_id", "not-a-ulid"), ("message_id", "01hzzzzzzzzzzzzzzzzzzzzzzz"), ("store_id", "a/b"), ("store_id", "a+b"),
     ("device_id", "#"), ("device_id", ""), ("seq", 0), ("seq", "1"), ("seq", 1.0), ("hlc", "yesterday"),
     ("stream", "refunds"), ("schema_version", 99), ("schema_version", 0)],
)  # fmt: skip
def test_envelope_fields_are_checked(field, value):
    fields = {
        "message_id": ulid(1),
        "store_id": STORE,
        "device_id": DEVICE,
        "stream": Stream.FOOTFALL,
        "seq": 1,
        "hlc": HLC(T0, 0, DEVICE).encode(),
        "payload": {},
        field: value,
    }
    with pytest.raises(ValidationError):
        Envelope(**fields)


def test_unknown_fields_are_refused():
    wire = envelope(1).to_json_dict() | {"priority": "high"}
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire)


def test_messages_are_immutable():
    env = envelope(1)
    with pytest.raises(ValidationError):
        env.seq = 2  # type: ignore[misc]


def test_a_batch_holds_contiguous_seqs_of_one_sender_and_stream():
    b = batch([envelope(5), envelope(6), envelope(7)])
    assert (b.first_seq, b.last_seq, list(b.seqs)) == (5, 7, [5, 6, 7])


@pytest.mark.parametrize(
    "envelopes",
    [
        [envelope(1), envelope(3)],  # a gap
        [envelope(2), envelope(1)],  # backwards
        [envelope(1), envelope(1)],  # repeated
        [envelope(1), envelope(2, device=OTHER_DEVICE)],  # two devices
        [envelope(1), envelope(2, store_id=OTHER_STORE, payload=stock_delta(2, store_id=OTHER_STORE))],
        [envelope(1), envelope(2, payload=footfall())],  # two streams
    ],
)
def test_an_inconsistent_batch_is_refused_as_inconsistent(envelopes):
    with pytest.raises(ValidationError) as caught:
        Batch(
            batch_id=ulid(9),
            store_id=STORE,
            device_id=DEVICE,
            stream=Stream.STOCK_DELTAS,
            messages=tuple(envelopes),
        )
    assert error_types(caught.value) == {"inconsistent"}


def test_a_batch_with_one_message_id_twice_is_inconsistent():
    first = envelope(1)
    second = envelope(2).model_copy(update={"message_id": first.message_id})
    with pytest.raises(ValidationError) as caught:
        batch([first, second])
    assert error_types(caught.value) == {"inconsistent"}


def test_a_batch_has_one_to_five_hundred_messages():
    with pytest.raises(ValidationError):
        Batch(batch_id=ulid(1), store_id=STORE, device_id=DEVICE, stream=Stream.STOCK_DELTAS, messages=())
    many = [envelope(i) for i in range(1, MAX_MESSAGES_PER_BATCH + 2)]
    assert len(batch(many[:-1]).messages) == MAX_MESSAGES_PER_BATCH
    with pytest.raises(ValidationError):
        batch(many)


def test_an_ack_names_the_mark_and_the_gaps_above_it():
    ack = Ack(
        store_id=STORE,
        device_id=DEVICE,
        stream=Stream.ORDERS,
        high_water_seq=10,
        missing=(SeqRange(first=12, last=13), SeqRange(first=20, last=20)),
        dead_lettered=(SeqRange(first=4, last=4),),
    )
    assert ack.to_json_dict() == {
        "schemaVersion": 1,
        "storeId": STORE,
        "deviceId": DEVICE,
        "stream": "orders",
        "highWaterSeq": 10,
        "missing": [{"first": 12, "last": 13}, {"first": 20, "last": 20}],
        "deadLettered": [{"first": 4, "last": 4}],
    }
    assert 13 in ack.missing[0]
    assert 14 not in ack.missing[0]
    assert len(ack.missing[0]) == 2


@pytest.mark.parametrize(
    ("high_water", "missing", "dead"),
    [(10, [(10, 11)], []), (10, [(14, 15), (12, 12)], []), (10, [(12, 13), (14, 15)], []),
     (10, [(12, 14), (13, 15)], []), (10, [], [(9, 11)]), (-1, [], [])],
)  # fmt: skip
def test_an_ack_with_ranges_that_make_no_sense_is_refused(high_water, missing, dead):
    with pytest.raises(ValidationError):
        Ack(
            store_id=STORE,
            device_id=DEVICE,
            stream=Stream.ORDERS,
            high_water_seq=high_water,
            missing=tuple(SeqRange(first=a, last=b) for a, b in missing),
            dead_lettered=tuple(SeqRange(first=a, last=b) for a, b in dead),
        )


def test_a_seq_range_runs_forward():
    with pytest.raises(ValidationError):
        SeqRange(first=5, last=4)


def test_an_order_transition_must_be_legal_for_its_actor():
    with pytest.raises(ValidationError) as caught:
        transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.BUYER)
    assert error_types(caught.value) == {"illegalTransition"}
    with pytest.raises(ValidationError):
        transition(OrderStatus.CANCELLED, OrderStatus.COMPLETED, Actor.SELLER)


def test_an_order_transition_is_stamped_by_its_origin():
    with pytest.raises(ValidationError) as caught:
        OrderTransition(
            order_id="o-1",
            from_status=OrderStatus.COMPLETED,
            to_status=OrderStatus.REFUNDED,
            actor=Actor.STORE,
            hlc=HLC(T0, 0, "someone-else").encode(),
            device_id=DEVICE,
        )
    assert error_types(caught.value) == {"inconsistent"}


def test_order_transitions_are_hashable_values():
    a = transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.STORE)
    b = transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.STORE)
    assert a == b
    assert len({a, b}) == 1


def test_a_catalog_announcement_checks_its_digest_and_url():
    ok = CatalogAnnouncement(store_id=STORE, version=7, snapshot_url=None, sha256="a" * 64, size=1234)
    assert ok.to_json_dict()["snapshotUrl"] is None
    CatalogAnnouncement(
        store_id=STORE, version=7, snapshot_url="https://s3.example/c/7.json", sha256="0" * 64, size=0
    )
    for bad in (
        {"sha256": "A" * 64},
        {"sha256": "a" * 63},
        {"snapshot_url": "ftp://x"},
        {"snapshot_url": "https://a b"},
        {"version": 0},
        {"size": -1},
    ):
        with pytest.raises(ValidationError):
            CatalogAnnouncement(**({"store_id": STORE, "version": 7, "sha256": "a" * 64, "size": 1} | bad))


def test_a_catalog_delta_moves_forward_and_its_upserts_are_whole_entities():
    product = {
        "productId": "p-tea",
        "name": "珍珠奶茶",
        "variants": [{"variantId": "v-tea", "name": "大杯", "price": 55}],
    }
    delta = CatalogDelta(
        store_id=STORE,
        from_version=3,
        to_version=4,
        changes=(
            CatalogChange(entity=CatalogEntity.PRODUCT, op=ChangeOp.UPSERT, entity_id="p-tea", data=product),
            CatalogChange(entity=CatalogEntity.COUPON, op=ChangeOp.REMOVE, entity_id="WELCOME10"),
        ),
    )
    assert delta.to_json_dict()["changes"][1] == {
        "entity": "coupon",
        "op": "remove",
        "entityId": "WELCOME10",
        "data": None,
    }
    with pytest.raises(ValidationError):
        CatalogDelta(store_id=STORE, from_version=4, to_version=4, changes=())
    with pytest.raises(ValidationError, match="not p-milk"):
        CatalogChange(entity=CatalogEntity.PRODUCT, op=ChangeOp.UPSERT, entity_id="p-milk", data=product)
    with pytest.raises(ValidationError, match="not a valid product"):
        CatalogChange(entity=CatalogEntity.PRODUCT, op=ChangeOp.UPSERT, entity_id="p-tea", data={"x": 1})
    with pytest.raises(ValidationError):
        CatalogChange(entity=CatalogEntity.BRAND, op=ChangeOp.UPSERT, entity_id="b")
    with pytest.raises(ValidationError):
        CatalogChange(entity=CatalogEntity.BRAND, op=ChangeOp.REMOVE, entity_id="b", data={})


def test_downlink_stock_and_status_messages():
    adjustment = StockAdjustment(store_id=STORE, seq=8, latest_seq=9, delta=stock_delta(quantity=12))
    assert adjustment.to_json_dict()["delta"]["quantity"] == 12
    with pytest.raises(ValidationError) as caught:
        StockAdjustment(store_id=OTHER_STORE, seq=1, latest_seq=1, delta=stock_delta())
    assert error_types(caught.value) == {"inconsistent"}
    update = OrderStatusUpdate(
        store_id=STORE,
        seq=2,
        latest_seq=2,
        transition=transition(OrderStatus.COMPLETED, OrderStatus.REFUNDED, Actor.SELLER, device="cloud-1"),
    )
    assert update.to_json_dict()["transition"]["toStatus"] == "refunded"
    assert DeviceStatus(store_id=STORE, device_id=DEVICE, online=False).to_json_dict() == {
        "schemaVersion": 1,
        "storeId": STORE,
        "deviceId": DEVICE,
        "online": False,
        "downlinkSeq": 0,
        "catalogVersion": None,
        "models": {},
        "goodbye": False,
    }
    with pytest.raises(ValidationError) as caught:
        StockAdjustment(store_id=STORE, seq=5, latest_seq=4, delta=stock_delta())
    assert error_types(caught.value) == {"inconsistent"}


def test_a_staff_account_travels_in_the_feed_of_its_own_store():
    record = StaffRecord(
        staff_id=ulid(3),
        store_id=STORE,
        name="王店長",
        role=StaffRole.MANAGER,
        pin_hash="$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        version=2,
    )
    change = StaffChange(store_id=STORE, seq=3, latest_seq=3, staff=record)
    assert decode_downlink(encode(change), DownlinkKind.STAFF) == change
    assert change.to_json_dict()["staff"]["pinHash"].startswith("$argon2id$")
    with pytest.raises(ValidationError) as caught:
        StaffChange(store_id=OTHER_STORE, seq=1, latest_seq=1, staff=record)
    assert error_types(caught.value) == {"inconsistent"}
    for bad in ({"pin_hash": "2468"}, {"version": 0}, {"name": " 王店長"}, {"role": "owner"}):
        with pytest.raises(ValidationError):
            StaffRecord.model_validate(record.model_dump() | bad)


def test_make_envelope_carries_the_stamp_it_was_given():
    stamp = HLC(T0 + 99, 4, DEVICE)
    env = make_envelope(
        message_id=ulid(5), store_id=STORE, device_id=DEVICE, seq=9, hlc=stamp, payload=footfall()
    )
    assert env.stamp() == stamp
    assert env.seq == 9
    assert env.stream is Stream.FOOTFALL


def test_a_status_carries_model_refusals_only_at_schema_version_3():
    from sync_protocol.encoding import decode_status
    from sync_protocol.envelope import MODEL_REFUSALS_SCHEMA_VERSION, ModelRefusal

    refusal = ModelRefusal(name="product-recognizer", version=3, sha256="a" * 64, reason="not a zip file")
    status = DeviceStatus(
        schema_version=MODEL_REFUSALS_SCHEMA_VERSION,
        store_id=STORE,
        device_id=DEVICE,
        online=True,
        model_refusals=[refusal],
    )
    assert decode_status(encode(status)) == status
    assert status.to_json_dict()["modelRefusals"] == [
        {"name": "product-recognizer", "version": 3, "sha256": "a" * 64, "reason": "not a zip file"}
    ]
    with pytest.raises(ValidationError, match="modelRefusals need schemaVersion 3"):
        DeviceStatus(store_id=STORE, device_id=DEVICE, online=True, model_refusals=[refusal])
    # a status without refusals stays at version 1, which every cloud reads
    assert "modelRefusals" not in DeviceStatus(store_id=STORE, device_id=DEVICE, online=True).to_json_dict()
    with pytest.raises(MessageRejected):
        decode_status(encode(status).replace(b'"reason":"not a zip file"', b'"reason":""'))


def test_a_status_says_its_photo_set_only_from_version_4() -> None:
    """``recognitionPhotos`` (issue 18) is written only when the node takes cloud photos, and needs version 4:
    a cloud that reads versions 1 to 3 still sees a node that does not."""
    plain = DeviceStatus(store_id="s1", device_id="d1", online=True)
    assert "recognitionPhotos" not in plain.to_json_dict()
    with pytest.raises(ValidationError, match="recognitionPhotos need schemaVersion 4"):
        DeviceStatus(store_id="s1", device_id="d1", online=True, recognition_photos=0)
    taking = DeviceStatus(
        schema_version=RECOGNITION_PHOTOS_SCHEMA_VERSION,
        store_id="s1",
        device_id="d1",
        online=True,
        recognition_photos=3,
    )
    assert taking.to_json_dict()["recognitionPhotos"] == 3
    assert DeviceStatus.model_validate(taking.to_json_dict()) == taking
    # the cloud keeps the version in a 32-bit column: more is refused here, not by the database
    with pytest.raises(ValidationError, match="less than or equal"):
        DeviceStatus.model_validate(taking.to_json_dict() | {"recognitionPhotos": 2**31})


def test_a_status_says_its_health_only_from_version_5() -> None:
    """``health`` (issue 19: the cloud's Devices page) is written only when set and needs version 5; every
    figure is bounded, so a status the cloud could not show is refused (and dead-lettered) whole."""
    from sync_protocol.encoding import decode_status
    from sync_protocol.envelope import DEVICE_HEALTH_SCHEMA_VERSION, DeviceHealth

    plain = DeviceStatus(store_id="s1", device_id="d1", online=True)
    assert "health" not in plain.to_json_dict()
    health = DeviceHealth(
        software_version="0.4.0+source",
        uptime_s=3600,
        addresses=["192.168.1.20", "fe80::1"],
        outbox_pending=3,
        outbox_oldest_age_s=42,
    )
    with pytest.raises(ValidationError, match="health needs schemaVersion 5"):
        DeviceStatus(store_id="s1", device_id="d1", online=True, health=health)
    status = DeviceStatus(
        schema_version=DEVICE_HEALTH_SCHEMA_VERSION, store_id="s1", device_id="d1", online=True, health=health
    )
    assert status.to_json_dict()["health"] == {
        "softwareVersion": "0.4.0+source",
        "uptimeS": 3600,
        "addresses": ["192.168.1.20", "fe80::1"],
        "outboxPending": 3,
        "outboxOldestAgeS": 42,
    }
    assert decode_status(encode(status)) == status
    good = encode(status)
    for bad in (
        good.replace(b'"uptimeS":3600', b'"uptimeS":-1'),
        good.replace(b'"uptimeS":3600', b'"uptimeS":2147483648'),
        good.replace(b'"uptimeS":3600', b'"uptimeS":"3600"'),
        good.replace(b'"outboxPending":3', b'"outboxPending":3.5'),
        good.replace(b'"192.168.1.20"', b'"999.1.1.1"'),
        good.replace(b'"192.168.1.20"', b'"' + b"1" * 46 + b'"'),
        good.replace(b'"192.168.1.20"', b",".join([b'"10.0.0.1"'] * 9)),
        good.replace(b'"0.4.0+source"', b'"0.4 <script>"'),
        good.replace(b'"0.4.0+source"', b'"' + b"9" * 65 + b'"'),
        good.replace(b'"outboxPending":3', b'"outboxPending":3,"extra":1'),
        good.replace(b'"schemaVersion":5', b'"schemaVersion":4'),
    ):
        assert bad != good
        with pytest.raises(MessageRejected):
            decode_status(bad)
