"""MetadataStore on montydb's SQLite engine on disk: the same code that runs against a real MongoDB."""

import threading
from datetime import UTC, datetime
from pathlib import Path

import pymongo
import pytest

from cloud.media.metadata_store import METADATA_COLLECTION, MetadataStore, open_metadata_store
from plumbing import free_port


def product_doc(metadata_id: str = "meta-1", **overrides: object) -> dict:
    doc = {
        "_id": metadata_id,
        "productId": "prod-1",
        "sellerId": "seller-1",
        "description": "台灣阿里山高山烏龍茶，手工採摘，回甘濃郁。",
        "attributes": {"產地": "嘉義縣阿里山", "重量": "150 公克", "origin": "Alishan"},
        "variants": [
            {"variantId": "var-1", "metadata": {"包裝": "罐裝", "grams": 150}},
            {"variantId": "var-2", "metadata": {"包裝": "禮盒"}},
        ],
        "images": [],
        "refundRules": {"days": 7, "conditions": ["未拆封"]},
    }
    doc.update(overrides)
    return doc


def image(image_id: str) -> dict:
    return {
        "imageId": image_id,
        "url": f"http://cloud.test/files/products/prod-1/{image_id}.jpg",
        "thumbUrl": f"http://cloud.test/files/products/prod-1/{image_id}.thumb.webp",
        "width": 1200,
        "height": 800,
        "contentType": "image/jpeg",
    }


def test_the_embedded_store_is_montydb_sqlite_under_data_dir_mongo(tmp_path: Path) -> None:
    store = open_metadata_store(None, tmp_path)
    try:
        store.put(product_doc())
        assert (tmp_path / "mongo" / ".monty.storage").read_text() == "sqlite"
        assert (tmp_path / "mongo" / "edgestore" / f"{METADATA_COLLECTION}.collection").is_file()
        assert store.ping() is True
    finally:
        store.close()


def test_put_then_get_round_trips_zh_tw_text_and_stamps_updated_at(metadata_store: MetadataStore) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    metadata_store.put(product_doc())

    got = metadata_store.get("meta-1")

    assert got is not None
    updated_at = got.pop("updatedAt")
    assert got == product_doc()
    assert got["description"] == "台灣阿里山高山烏龍茶，手工採摘，回甘濃郁。"
    assert got["attributes"]["產地"] == "嘉義縣阿里山"
    assert isinstance(updated_at, datetime)
    assert updated_at.tzinfo == UTC
    assert before <= updated_at <= datetime.now(UTC)


def test_put_keeps_a_given_updated_at(metadata_store: MetadataStore) -> None:
    stamp = datetime(2025, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
    metadata_store.put(product_doc(updatedAt=stamp))
    got = metadata_store.get("meta-1")
    assert got is not None
    assert got["updatedAt"] == stamp


def test_put_replaces_the_whole_document(metadata_store: MetadataStore) -> None:
    metadata_store.put(product_doc())
    metadata_store.put({"_id": "meta-1", "productId": "prod-1", "description": "新的描述"})

    got = metadata_store.get("meta-1")

    assert got is not None
    assert got["description"] == "新的描述"
    assert "attributes" not in got
    assert "refundRules" not in got
    assert got["images"] == []


def test_refund_rules_may_be_none(metadata_store: MetadataStore) -> None:
    metadata_store.put(product_doc(refundRules=None))
    got = metadata_store.get("meta-1")
    assert got is not None
    assert got["refundRules"] is None


def test_get_of_an_unknown_id_is_none(metadata_store: MetadataStore) -> None:
    assert metadata_store.get("nope") is None


def test_get_many_returns_the_existing_documents_by_id(metadata_store: MetadataStore) -> None:
    for n in range(5):
        metadata_store.put(product_doc(f"meta-{n}", productId=f"prod-{n}"))

    got = metadata_store.get_many(["meta-3", "meta-0", "missing", "meta-3"])

    assert set(got) == {"meta-0", "meta-3"}
    assert got["meta-3"]["productId"] == "prod-3"
    assert got["meta-0"]["description"].startswith("台灣")
    assert metadata_store.get_many([]) == {}
    assert metadata_store.get_many(iter(["meta-1"])).keys() == {"meta-1"}


def test_add_image_appends_in_order_and_is_idempotent_per_image_id(metadata_store: MetadataStore) -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC)
    metadata_store.put(product_doc(updatedAt=old))

    assert metadata_store.add_image("meta-1", image("img-a")) is True
    assert metadata_store.add_image("meta-1", image("img-b")) is True
    assert metadata_store.add_image("meta-1", image("img-a")) is True  # a retry: no second copy

    got = metadata_store.get("meta-1")
    assert got is not None
    assert got["images"] == [image("img-a"), image("img-b")]
    assert got["updatedAt"] > old


def test_add_image_to_a_missing_document_changes_nothing(metadata_store: MetadataStore) -> None:
    assert metadata_store.add_image("missing", image("img-a")) is False
    assert metadata_store.get("missing") is None


def test_remove_image_removes_only_that_image(metadata_store: MetadataStore) -> None:
    metadata_store.put(product_doc())
    for name in ("img-a", "img-b", "img-c"):
        metadata_store.add_image("meta-1", image(name))

    assert metadata_store.remove_image("meta-1", "img-b") is True

    got = metadata_store.get("meta-1")
    assert got is not None
    assert [i["imageId"] for i in got["images"]] == ["img-a", "img-c"]


def test_removing_an_absent_image_is_a_no_op_that_keeps_updated_at(metadata_store: MetadataStore) -> None:
    stamp = datetime(2024, 6, 1, tzinfo=UTC)
    metadata_store.put(product_doc(images=[image("img-a")], updatedAt=stamp))

    assert metadata_store.remove_image("meta-1", "img-zzz") is False
    assert metadata_store.remove_image("missing", "img-a") is False

    got = metadata_store.get("meta-1")
    assert got is not None
    assert got["images"] == [image("img-a")]
    assert got["updatedAt"] == stamp


def test_delete_removes_the_document_and_tolerates_repeats(metadata_store: MetadataStore) -> None:
    metadata_store.put(product_doc("meta-1"))
    metadata_store.put(product_doc("meta-2"))

    assert metadata_store.delete("meta-1") is True
    assert metadata_store.delete("meta-1") is False

    assert metadata_store.get("meta-1") is None
    assert metadata_store.get("meta-2") is not None


def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    store = open_metadata_store(None, tmp_path)
    store.put(product_doc())
    store.add_image("meta-1", image("img-a"))
    before = store.get("meta-1")
    store.close()

    reopened = open_metadata_store(None, tmp_path)
    try:
        assert reopened.get("meta-1") == before
        assert reopened.get("meta-1")["description"] == "台灣阿里山高山烏龍茶，手工採摘，回甘濃郁。"  # type: ignore[index]
    finally:
        reopened.close()


def test_separate_databases_do_not_see_each_other(tmp_path: Path) -> None:
    a = open_metadata_store(None, tmp_path, database="shop_a")
    b = open_metadata_store(None, tmp_path, database="shop_b")
    try:
        a.put(product_doc())
        assert b.get("meta-1") is None
    finally:
        a.close()
        b.close()


def test_concurrent_writers_from_request_threads_all_land(metadata_store: MetadataStore) -> None:
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(10):
                metadata_id = f"meta-{worker}-{n}"
                metadata_store.put(product_doc(metadata_id, description=f"第 {worker} 號"))
                assert metadata_store.get(metadata_id) is not None
                assert metadata_store.add_image(metadata_id, image(f"img-{n}")) is True
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    ids = [f"meta-{w}-{n}" for w in range(6) for n in range(10)]
    got = metadata_store.get_many(ids)
    assert len(got) == 60
    assert got["meta-5-9"]["description"] == "第 5 號"
    assert got["meta-5-9"]["images"] == [image("img-9")]


@pytest.mark.parametrize("bad", [None, "", 42])
def test_documents_and_images_need_string_ids(metadata_store: MetadataStore, bad: object) -> None:
    with pytest.raises(ValueError, match="_id"):
        metadata_store.put(product_doc(_id=bad))
    metadata_store.put(product_doc())
    with pytest.raises(ValueError, match="imageId"):
        metadata_store.add_image("meta-1", {**image("x"), "imageId": bad})


def test_with_a_url_pymongo_connects_lazily_and_ping_reports_an_unreachable_server(tmp_path: Path) -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/"
    store = open_metadata_store(url, tmp_path)  # no server there: opening must not fail
    store.close()
    assert not (tmp_path / "mongo").exists()

    client: pymongo.MongoClient = pymongo.MongoClient(url, serverSelectionTimeoutMS=100, tz_aware=True)
    down = MetadataStore(client["edgestore"][METADATA_COLLECTION], close=client.close)
    try:
        assert down.ping() is False
    finally:
        down.close()
