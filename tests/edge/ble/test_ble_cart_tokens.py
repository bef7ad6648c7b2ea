"""The cart tokens' key: made once, 0600, kept across restarts; tokens that only open their own cart."""

import stat

from edge.ble.cart_tokens import TOKEN_BYTES, CartTokens


def test_the_key_is_made_once_private_and_whole(tmp_path) -> None:
    path = tmp_path / "data" / "ble-cart-key"
    first = CartTokens.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    assert [p.name for p in path.parent.iterdir()] == ["ble-cart-key"]  # no temporary file left behind
    again = CartTokens.from_file(path)  # a restart: the same key, so phones' carts still open
    assert again.token("cart-1") == first.token("cart-1")
    assert again.derive("address") == first.derive("address") != first.derive("other")


def test_a_token_opens_its_own_cart_only(tmp_path) -> None:
    tokens = CartTokens.from_file(tmp_path / "k")
    token = tokens.token("cart-1")
    assert len(token) == TOKEN_BYTES
    assert tokens.holds("cart-1", token)
    assert not tokens.holds("cart-2", token)
    assert not tokens.holds("cart-1", token.hex())  # text is not the token
    assert not tokens.holds("cart-1", CartTokens.from_file(tmp_path / "other").token("cart-1"))
