"""Which phone may touch which cart: a cart made over Bluetooth comes with a token, an HMAC of its id under
the bridge's key, that every later request for it must carry.

A token rather than the connection: phones drop and remake their link (and change their Bluetooth address
for privacy) while the shopper walks the aisles, and their cart must survive that; another phone, which never
saw the token, is refused. The key is kept in a file (0600) so carts survive a restart of the bridge.
"""

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
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
        """The key in ``path``, made when there is none yet: written whole to a temporary file (0600 from its
        first byte) and linked into place, so a power cut never leaves an empty key behind, and of two
        bridges starting at once the second takes the first one's key."""
        try:
            return cls(path.read_bytes())
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".ble-cart-key-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # another bridge's key is there: it stands
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
        _fsync_folder(path.parent)
        return cls(path.read_bytes())

    def token(self, cart_id: str) -> bytes:
        return hmac.digest(self._key, cart_id.encode(), hashlib.sha256)[:TOKEN_BYTES]

    def derive(self, label: str) -> bytes:
        """A value of this bridge's own, stable across restarts, that reveals nothing of the key (the
        bridge's Bluetooth address is made from it, so phones and field staff see the same one)."""
        return hmac.digest(self._key, b"edgestore-ble:" + label.encode(), hashlib.sha256)

    def holds(self, cart_id: str, token: object) -> bool:
        return isinstance(token, bytes) and hmac.compare_digest(self.token(cart_id), token)


def _fsync_folder(folder: Path) -> None:
    """The new name made durable: a file's fsync does not cover its entry in the folder."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
