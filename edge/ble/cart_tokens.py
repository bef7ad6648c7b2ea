"""Which phone may touch which cart: a cart made over Bluetooth comes with a token, an HMAC of its id under
the bridge's key, that every later request for it must carry.

A token rather than the connection: phones drop and remake their link (and change their Bluetooth address
for privacy) while the shopper walks the aisles, and their cart must survive that; another phone, which never
saw the token, is refused. The key is kept in a file (0600) so carts survive a restart of the bridge.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

TOKEN_BYTES = 16
KEY_BYTES = 32


class CartTokens:
    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a cart token key is at least {KEY_BYTES} bytes")
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> "CartTokens":
        """The key in ``path``, made (0600, from the first byte) when there is none yet."""
        try:
            return cls(path.read_bytes())
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another bridge made it first: use theirs
            return cls(path.read_bytes())
        with os.fdopen(fd, "wb") as out:
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
        return cls(key)

    def token(self, cart_id: str) -> bytes:
        return hmac.digest(self._key, cart_id.encode(), hashlib.sha256)[:TOKEN_BYTES]

    def derive(self, label: str) -> bytes:
        """A value of this bridge's own, stable across restarts, that reveals nothing of the key (the
        bridge's Bluetooth address is made from it, so phones and field staff see the same one)."""
        return hmac.digest(self._key, b"edgestore-ble:" + label.encode(), hashlib.sha256)

    def holds(self, cart_id: str, token: object) -> bool:
        return isinstance(token, bytes) and hmac.compare_digest(self.token(cart_id), token)
