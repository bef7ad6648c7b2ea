"""Searching by Zhuyin initials (issue 17): on a real node with the demo catalog, the index's SQL against the
pure rule (hypothesis, on SQLite), and a node that upgrades rebuilding its index once."""

import sqlite3

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, insert, select

from edge import catalog, node_state, search_index
from edge.demo_catalog import demo_catalog
from edge.node import Node
from edge.settings import EdgeSettings
from edge.tables import metadata, product_search
from models.zhuyin import INITIALS, matches, zhuyin_query
from plumbing import free_port
from tests.edge.conftest import load_catalog, start_server


def found(client, **params) -> list[str]:
    response = client.get("/catalog/products", params=params)
    assert response.status_code == 200, response.text
    return [p["productId"] for p in response.json()["items"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ㄓㄓㄋㄔ", ["bubble-tea"]),  # 珍珠奶茶, typed on the kiosk's initials keyboard
        ("ㄋㄔ", ["bubble-tea"]),  # 奶茶: any part of the name
        (" ㄓㄓ ㄋㄔ ", ["bubble-tea"]),  # spaces do not count
        ("ㄈㄌㄙ", ["pineapple-cake"]),  # 鳳梨酥
        ("ㄏㄊㄧㄩㄆ", ["seaweed-chips"]),  # 海苔洋芋片
        # polyphones: either reading finds the product
        ("ㄓㄉㄙ", ["umbrella"]),  # 折疊傘 read zhé
        ("ㄕㄉㄙ", ["umbrella"]),  # and shé
        ("ㄒㄨㄒ", ["shrimp-crackers"]),  # 蝦味先 read xiā
        ("ㄏㄨㄒ", ["shrimp-crackers"]),  # and há
        ("ㄉㄉㄨㄌㄔ", ["oolong-tea"]),  # 凍頂烏龍茶
        # variant names too: 大杯, 粉紅 (of "256GB 粉紅"), 黑色 (an umbrella and an iPhone)
        ("ㄉㄅ", ["bubble-tea"]),
        ("ㄈㄏ", ["iphone-15"]),
        ("ㄏㄙ", ["iphone-15", "umbrella"]),
        ("ㄓㄅ", ["bubble-tea", "latte"]),  # 中杯
        # in order, with nothing skipped, and not across names
        ("ㄓㄔ", []),
        ("ㄔㄓ", []),  # 奶茶 then 中杯 of the variant
        ("ㄅㄆㄇㄈ", []),
    ],
)
def test_zhuyin_initials_find_products(edge, q, expected):
    assert found(edge.client, q=q) == expected


def test_ordinary_searches_still_match_text_and_never_the_initials(edge):
    assert found(edge.client, q="奶茶") == ["bubble-tea"]
    assert found(edge.client, q="Bubble") == ["bubble-tea"]
    # Not a Zhuyin query (a Latin letter in it): a text search, which the initials cannot answer.
    assert found(edge.client, q="ㄓㄓa") == []
    assert found(edge.client, q="ㄏㄙ.") == []


def test_zhuyin_search_with_a_category_and_pages(edge):
    assert found(edge.client, q="ㄓㄅ", categoryId="coffee") == ["latte"]
    first = edge.client.get("/catalog/products", params={"q": "ㄏㄙ", "limit": 1}).json()
    assert [p["productId"] for p in first["items"]] == ["iphone-15"]
    second = edge.client.get(
        "/catalog/products", params={"q": "ㄏㄙ", "limit": 1, "cursor": first["nextCursor"]}
    ).json()
    assert [p["productId"] for p in second["items"]] == ["umbrella"]
    assert second["nextCursor"] is None


def test_a_query_with_a_control_character_is_refused_so_it_cannot_reach_the_index(edge):
    response = edge.client.get("/catalog/products", params={"q": "ㄓ\x1f"})
    assert response.status_code == 422


# --- the index's SQL is the pure rule -----------------------------------------------------------------------

hanzi = st.sampled_from(
    "珍珠奶茶銀行走長重樂了凍頂烏龍美式咖啡拿鐵鳳梨酥太陽餅牛軋糖海苔洋芋片蝦味先衛生紙中大杯"
)
names = st.text(alphabet=st.one_of(hanzi, st.sampled_from("ab 12．ㄅㄓ%_")), min_size=1, max_size=10)
zhuyin_queries = st.text(alphabet=st.sampled_from(INITIALS[:22] + "ㄧㄨㄩ "), min_size=1, max_size=4)
text_queries = st.text(alphabet=st.one_of(hanzi, st.sampled_from("ab 12ㄅㄓ%_.")), min_size=1, max_size=4)


@pytest.fixture(scope="module")
def index_db():
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=[product_search])  # SQLite leaves the foreign key unchecked
    yield engine
    engine.dispose()


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(
    st.lists(names, min_size=1, max_size=3),
    st.lists(names, max_size=2),
    st.one_of(zhuyin_queries, text_queries),
)
def test_the_index_answers_exactly_what_the_rule_says(index_db, product_names, codes, q):
    text = search_index.search_text(product_names, codes)
    with index_db.begin() as conn:
        conn.execute(product_search.delete())
        conn.execute(insert(product_search).values(product_id="p", text=text))
        hit = conn.execute(select(product_search.c.product_id).where(search_index.condition(q))).first()
    symbols = zhuyin_query(q)
    if symbols is not None:
        expected = any(matches(symbols, name) for name in product_names)
    else:
        plain = " ".join([*product_names, *codes]).casefold()
        expected = q.strip().casefold() in plain
    assert (hit is not None) is expected, (product_names, codes, q)


# --- a node that upgrades ------------------------------------------------------------------------------------


def _texts(path) -> dict[str, str]:
    with sqlite3.connect(path) as raw:
        return dict(raw.execute("SELECT product_id, text FROM product_search").fetchall())


def test_a_node_built_before_zhuyin_rebuilds_its_index_once_at_start(tmp_path, clock):
    settings = EdgeSettings(data_dir=tmp_path / "node", port=free_port())
    load_catalog(settings, demo_catalog(now=clock()), clock())
    as_loaded = _texts(settings.database_path)
    # What a node of version 1 held: names and codes only, and no index version.
    with sqlite3.connect(settings.database_path) as raw:
        for product_id, text in as_loaded.items():
            raw.execute(
                "UPDATE product_search SET text = ? WHERE product_id = ?", (text.split("\x1f")[0], product_id)
            )
        raw.execute("DELETE FROM node_state WHERE key = ?", (node_state.SEARCH_INDEX_VERSION,))

    served = start_server(settings, clock)  # opening the node rebuilds the index
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/api/v1", timeout=30) as client:
            assert found(client, q="ㄓㄓㄋㄔ") == ["bubble-tea"]
            assert found(client, q="鳳梨") == ["pineapple-cake"]
    finally:
        served.stop(timeout_s=20)
    assert _texts(settings.database_path) == as_loaded  # the same rows a load writes

    node = Node.open(settings)
    try:
        with node.db.write() as conn:
            assert node_state.get(conn, node_state.SEARCH_INDEX_VERSION) == str(
                search_index.SEARCH_INDEX_VERSION
            )
            assert search_index.ensure_current(conn) is False  # once: a current index is left alone
            # a product renamed later (a catalog delta) is indexed as it is loaded
            renamed = next(p for p in demo_catalog(now=clock()).products if p.product_id == "latte")
            catalog.upsert_product(conn, renamed.model_copy(update={"name": "黑糖拿鐵"}))
        with node.db.read() as conn:
            page = catalog.search_products(conn, at=clock(), q="ㄏㄊㄋㄊ")
            assert [p.product_id for p in page.items] == ["latte"]
    finally:
        node.close()
