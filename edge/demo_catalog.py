"""A demo catalog for a Taipei convenience-style store, and a generator of large synthetic catalogs.

Used by ``edgestore demo``, ``edgestore edge demo-catalog`` and the benchmarks, so a node can sell with no
cloud at all. Barcodes are valid EAN-13 numbers with Taiwan's 471 prefix.
"""

import random
from datetime import datetime, timedelta

from models.catalog import (
    Brand,
    CatalogSnapshot,
    Category,
    Condition,
    Coupon,
    CouponKind,
    Discount,
    Product,
    StockLevel,
    Variant,
)
from plumbing import utcnow

DEMO_STORE_ID = "store-taipei-xinyi"


def ean13(body12: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


_CATEGORIES = [
    Category(category_id="drinks", name="飲料", name_en="Drinks"),
    Category(category_id="tea", name="茶飲", name_en="Tea", parent_id="drinks"),
    Category(category_id="coffee", name="咖啡", name_en="Coffee", parent_id="drinks"),
    Category(category_id="snacks", name="零食", name_en="Snacks"),
    Category(category_id="souvenirs", name="伴手禮", name_en="Souvenirs"),
    Category(category_id="household", name="生活用品", name_en="Household"),
    Category(category_id="phones", name="手機", name_en="Phones"),
]

_BRANDS = [
    Brand(brand_id="apple", name="Apple", name_en="Apple"),
    Brand(brand_id="asus", name="華碩", name_en="ASUS"),
    Brand(brand_id="chiate", name="佳德", name_en="Chia Te"),
]

# (productId, zh-TW name, English name, category, sub-category, brand, [(variant name, en, price, stock)])
_PRODUCTS: list[tuple[str, str, str, str, str | None, str | None, list[tuple[str, str, int, int]]]] = [
    (
        "bubble-tea",
        "珍珠奶茶",
        "Bubble milk tea",
        "drinks",
        "tea",
        None,
        [("中杯", "Medium", 55, 40), ("大杯", "Large", 65, 40)],
    ),
    ("oolong-tea", "凍頂烏龍茶", "Dongding oolong tea", "drinks", "tea", None, [("600ml", "600 ml", 35, 60)]),
    (
        "black-coffee",
        "美式咖啡",
        "Americano",
        "drinks",
        "coffee",
        None,
        [("熱", "Hot", 45, 30), ("冰", "Iced", 45, 30)],
    ),
    ("latte", "拿鐵", "Caffè latte", "drinks", "coffee", None, [("中杯", "Medium", 65, 30)]),
    (
        "pineapple-cake",
        "鳳梨酥",
        "Pineapple cake",
        "souvenirs",
        None,
        "chiate",
        [("6入", "Box of 6", 300, 20), ("12入", "Box of 12", 560, 12)],
    ),
    ("sun-cake", "太陽餅", "Sun cake", "souvenirs", None, None, [("10入", "Box of 10", 280, 15)]),
    ("nougat", "牛軋糖", "Milk nougat", "souvenirs", None, None, [("200g", "200 g", 180, 25)]),
    (
        "seaweed-chips",
        "海苔洋芋片",
        "Seaweed potato chips",
        "snacks",
        None,
        None,
        [("原味", "Original", 39, 50)],
    ),
    ("shrimp-crackers", "蝦味先", "Shrimp crackers", "snacks", None, None, [("經典", "Classic", 30, 50)]),
    (
        "pork-floss-roll",
        "肉鬆蛋捲",
        "Pork floss egg rolls",
        "snacks",
        None,
        None,
        [("8入", "Pack of 8", 150, 18)],
    ),
    (
        "umbrella",
        "折疊傘",
        "Folding umbrella",
        "household",
        None,
        None,
        [("黑色", "Black", 390, 8), ("藍色", "Blue", 390, 8)],
    ),
    ("tissues", "抽取式衛生紙", "Facial tissues", "household", None, None, [("3包", "3 packs", 89, 30)]),
    (
        "iphone-15",
        "iPhone 15",
        "iPhone 15",
        "phones",
        None,
        "apple",
        [("128GB 黑色", "128GB Black", 25900, 3), ("256GB 粉紅", "256GB Pink", 29400, 2)],
    ),
    (
        "zenfone-11",
        "Zenfone 11 Ultra",
        "Zenfone 11 Ultra",
        "phones",
        None,
        "asus",
        [("256GB", "256GB", 24990, 1)],
    ),
]


def demo_catalog(version: int = 1, *, now: datetime | None = None) -> CatalogSnapshot:
    """The curated demo catalog: 14 products in zh-TW and English, a discount and three coupons."""
    now = now or utcnow()
    products: list[Product] = []
    stock: list[StockLevel] = []
    for n, (pid, name, name_en, cat, sub, brand, variant_rows) in enumerate(_PRODUCTS):
        variants = []
        for m, (vname, vname_en, price, level) in enumerate(variant_rows):
            vid = f"{pid}-{m + 1}"
            variants.append(
                Variant(
                    variant_id=vid,
                    name=vname,
                    name_en=vname_en,
                    price=price,
                    barcode=ean13(f"471{n:05d}{m:04d}"),
                    sku=vid.upper(),
                    is_default=m == 0,
                )
            )
            stock.append(StockLevel(variant_id=vid, quantity=level))
        products.append(
            Product(
                product_id=pid,
                name=name,
                name_en=name_en,
                description=f"{name} ({name_en})",
                category_id=cat,
                sub_category_id=sub,
                brand_id=brand,
                condition=Condition.NEW if cat == "phones" else None,
                variants=variants,
            )
        )
    return CatalogSnapshot(
        version=version,
        store_id=DEMO_STORE_ID,
        store_name="信義門市 Xinyi store",
        categories=_CATEGORIES,
        brands=_BRANDS,
        products=products,
        discounts=[
            Discount(
                discount_id="souvenir-week",
                name="伴手禮週 9折 / Souvenir week 10% off",
                percent=10,
                product_id="pineapple-cake",
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
            )
        ],
        coupons=[
            Coupon(code="WELCOME100", kind=CouponKind.AMOUNT, value=100, min_spend=500),
            Coupon(code="SAVE10", kind=CouponKind.PERCENT, value=10, min_spend=0),
            Coupon(code="ONCE50", kind=CouponKind.AMOUNT, value=50, min_spend=100, max_uses=1),
        ],
        stock=stock,
    )


_WORDS_ZH = ["經典", "特選", "手工", "有機", "台灣", "嚴選", "限定", "家庭號", "迷你", "原味"]
_ITEMS = [
    ("茶", "tea"),
    ("咖啡", "coffee"),
    ("餅乾", "cookies"),
    ("麵", "noodles"),
    ("米", "rice"),
    ("醬油", "soy sauce"),
    ("果汁", "juice"),
    ("毛巾", "towel"),
    ("牙刷", "toothbrush"),
    ("襪子", "socks"),
]


def synthetic_catalog(
    products: int, *, version: int = 1, stock_per_variant: int = 1000, seed: int = 7
) -> CatalogSnapshot:
    """A large catalog for benchmarks and load tests: ``products`` products, 1-3 variants each."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    categories = [
        Category(category_id=f"cat-{i}", name=f"分類{i}", name_en=f"Category {i}") for i in range(20)
    ]
    items: list[Product] = []
    stock: list[StockLevel] = []
    for n in range(products):
        zh, en = rng.choice(_ITEMS)
        word = rng.choice(_WORDS_ZH)
        pid = f"p{n:06d}"
        variants = []
        for m in range(rng.randint(1, 3)):
            vid = f"{pid}-{m + 1}"
            variants.append(
                Variant(
                    variant_id=vid,
                    name=f"規格{m + 1}",
                    name_en=f"Option {m + 1}",
                    price=rng.randrange(20, 2000),
                    barcode=ean13(f"471{n:06d}{m:03d}"),
                    is_default=m == 0,
                )
            )
            stock.append(StockLevel(variant_id=vid, quantity=stock_per_variant))
        items.append(
            Product(
                product_id=pid,
                name=f"{word}{zh} {n}",
                name_en=f"{en.title()} {n}",
                category_id=f"cat-{n % 20}",
                variants=variants,
            )
        )
    return CatalogSnapshot(
        version=version, store_id=DEMO_STORE_ID, categories=categories, products=items, stock=stock
    )
