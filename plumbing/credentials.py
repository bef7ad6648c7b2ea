"""Secrets people and clients hold, and the only forms services keep of them.

- Bearer tokens (a seller's session in the cloud, a staff member's at the store node): 32 random bytes,
  shown to the client once; a service stores only their SHA-256, so a copy of its tables logs nobody in.
- Staff PINs: 4-8 digits, kept and sent only as argon2id hashes. The cloud hashes the PINs a seller sets or
  it makes; the store node checks a PIN against that hash offline, and hashes the PINs of accounts made at
  the node itself.

Why these argon2 parameters for PINs (OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane) and not the
library's defaults (64 MiB, 3 passes, 4 lanes), which the cloud keeps for passwords: a PIN has at most 10^8
values, so no cost setting keeps a leaked hash safe for long (what keeps PINs safe is that the hashes stay
on the node and in the cloud, and the node's login limit); the cost a Raspberry Pi pays per login is what
the parameters do decide. A hash carries its parameters, so changing them later needs no migration.
"""

import hashlib
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_pin_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Checking against this when there is no account takes as long as a real check, so the time a login takes
# does not tell which names exist.
_DUMMY_PIN_HASH = _pin_hasher.hash("00000000")
# Each check holds its memory cost for its duration: a flood of logins at a Pi could otherwise run 40 at
# once (the server's thread pool) and take most of its memory. Two at a time keep the counter responsive.
_checking = threading.BoundedSemaphore(2)

TOKEN_BYTES = 32
PIN_DIGITS = 6
"""A PIN the cloud or the node makes: 6 digits, a million values, against the login limit's few tries."""


def new_token() -> str:
    """A bearer token (URL-safe text), shown once; keep only ``token_hash`` of it."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What a service stores of a bearer token and looks it up by: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_pin(digits: int = PIN_DIGITS) -> str:
    """A random PIN of ``digits`` digits (leading zeros allowed: ``0042`` is a PIN)."""
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def hash_pin(pin: str) -> str:
    return _pin_hasher.hash(pin)


def verify_pin(pin_hash: str | None, pin: str) -> bool:
    """Whether ``pin`` fits ``pin_hash``; without a hash (no such account), a check against a dummy costs the
    same time and says no."""
    with _checking:
        try:
            right = bool(_pin_hasher.verify(pin_hash or _DUMMY_PIN_HASH, pin))
        except (VerificationError, InvalidHashError):
            return False
    return right and pin_hash is not None
