"""CSRF tokens and safe redirect targets for the dashboard's forms.

The choice: a per-session synchronizer token in a hidden field, checked on every POST. The token is not
stored anywhere: it is ``HMAC(installation secret, session token)``, so it changes with every login, dies with
the session, and cannot be computed by a page on another origin (which can neither read the HttpOnly session
cookie nor our HTML). Before a session exists (the login and sign-up forms, so nobody can be logged in to an
attacker's account), the token is bound instead to a random pre-session cookie, ``edgestore_csrf``
(HttpOnly, SameSite=Strict). The session cookie itself stays SameSite=Lax, as the API sets it, which already
keeps cross-site POSTs from carrying it in current browsers; the token does not rely on that.
"""

import hashlib
import hmac
import secrets

from cloud.auth import SESSION_COOKIE

CSRF_COOKIE = "edgestore_csrf"
CSRF_FIELD = "csrf"
_CONTEXT = b"edgestore.csrf.v1:"


def new_binding() -> str:
    """A fresh random value for the pre-session cookie."""
    return secrets.token_urlsafe(32)


def binding(cookies: dict[str, str]) -> str | None:
    """What the token is bound to: the session cookie when there is one, else the pre-session cookie."""
    return cookies.get(SESSION_COOKIE) or cookies.get(CSRF_COOKIE) or None


def token_for(secret: bytes, bound_to: str) -> str:
    return hmac.new(secret, _CONTEXT + bound_to.encode(), hashlib.sha256).hexdigest()


def token_ok(secret: bytes, cookies: dict[str, str], submitted: object) -> bool:
    """Whether ``submitted`` (the hidden field) is the token of the cookies this request carries."""
    bound_to = binding(cookies)
    if not bound_to or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(token_for(secret, bound_to), submitted)


def safe_next(value: object, default: str = "/dashboard") -> str:
    """A redirect target on this site only: a path, never ``//host`` or ``scheme:`` (no open redirect)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(c) < 0x20 or c in "\\" for c in value) or len(value) > 2000:
        return default
    return value
