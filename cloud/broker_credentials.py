"""Device credentials for Mosquitto, managed by the cloud: the password file in Mosquitto's own format.

Mosquitto 2 stores ``username:$7$<iterations>$<salt>$<hash>`` with PBKDF2-HMAC-SHA512 (what
``mosquitto_passwd`` writes), so the cloud can write the file itself and tell the broker to reload it
(SIGHUP) when a device is provisioned or revoked; the plain password is shown once, at provisioning.
"""

import base64
import hashlib
import secrets

ITERATIONS = 101  # mosquitto_passwd's default; the broker reads the count from each line
_SALT_BYTES = 12


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return secrets.compare_digest(got, expected)


def password_file(passwords: dict[str, str]) -> str:
    """A password file for plain passwords (tests, first setup); see ``password_file_lines`` for hashes."""
    return password_file_lines({user: hash_password(pw) for user, pw in passwords.items()})


def password_file_lines(hashes: dict[str, str]) -> str:
    for user in hashes:
        if not user or ":" in user or "\n" in user:
            raise ValueError(f"a broker username cannot contain ':' or a newline: {user!r}")
    return "".join(f"{user}:{hashes[user]}\n" for user in sorted(hashes))
