"""A device's Ed25519 public key as a Pi sends it when it claims its place in a store: PEM
(``-----BEGIN PUBLIC KEY-----``, SubjectPublicKeyInfo) or one OpenSSH line (``ssh-ed25519 AAAA... comment``).

Parsed by hand: both forms of an Ed25519 key have a fixed layout, and the cloud needs no crypto library to
read 32 bytes out of them."""

import base64
import binascii
import re

MAX_PUBLIC_KEY_CHARS = 1024

# SubjectPublicKeyInfo { AlgorithmIdentifier { 1.3.101.112 }, BIT STRING (32 bytes) }, DER (RFC 8410).
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----")
_SSH_TYPE = b"ssh-ed25519"


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the key is not valid base64") from exc


def _ssh_string(blob: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(blob):
        raise ValueError("the OpenSSH key is cut short")
    size = int.from_bytes(blob[at : at + 4], "big")
    end = at + 4 + size
    if end > len(blob):
        raise ValueError("the OpenSSH key is cut short")
    return blob[at + 4 : end], end


def ed25519_public_key(text: str) -> bytes:
    """The key's 32 bytes; ValueError (saying why) for anything that is not one Ed25519 public key."""
    text = text.strip()
    if len(text) > MAX_PUBLIC_KEY_CHARS:
        raise ValueError(f"the key is longer than {MAX_PUBLIC_KEY_CHARS} characters")
    if text.startswith("-----BEGIN"):
        match = _PEM.fullmatch(text)
        if match is None:
            raise ValueError("not a PEM public key (-----BEGIN PUBLIC KEY-----)")
        der = _b64(match.group(1))
        if len(der) != len(_SPKI_PREFIX) + 32 or not der.startswith(_SPKI_PREFIX):
            raise ValueError("the PEM key is not an Ed25519 key")
        return der[len(_SPKI_PREFIX) :]
    kind, _, rest = text.partition(" ")
    if kind != _SSH_TYPE.decode():
        raise ValueError("not an Ed25519 key: give a PEM public key or an 'ssh-ed25519 ...' line")
    blob = _b64(rest.strip().split(" ", 1)[0])
    name, at = _ssh_string(blob, 0)
    key, at = _ssh_string(blob, at)
    if name != _SSH_TYPE or len(key) != 32 or at != len(blob):
        raise ValueError("the OpenSSH key is not an Ed25519 key")
    return key
