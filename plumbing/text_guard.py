"""Refuse a request whose path or query string holds a control character, before any route sees it.

Bodies are checked by the schemas (``models.base.CamelModel``); paths and query strings reach routes as
plain ``str`` parameters (a search ``q``, a category id), and a ``%00`` in a search used to end as a 500 from
PostgreSQL. One rule for all of them: ``models.text``. Every service adds this middleware.
"""

from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from models.errors import validation_error_body
from models.text import CONTROL_CHARACTER_MESSAGE, has_control_characters


def control_character_problem(scope: Scope) -> dict[str, Any] | None:
    """The first place in the request line holding a control character, as a pydantic-style error."""
    if has_control_characters(scope.get("path", "")):
        return {"loc": ("path",), "msg": CONTROL_CHARACTER_MESSAGE}
    # Decoded as Starlette decodes it for the routes (latin-1, then percent-decoding as UTF-8).
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if has_control_characters(name) or has_control_characters(value):
            return {"loc": ("query", name), "msg": CONTROL_CHARACTER_MESSAGE}
    return None


class RefuseControlCharacters:
    """Pure ASGI middleware: nothing is buffered or wrapped (an SSE stream, an upload), a request passes
    through as it came."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = control_character_problem(scope)
            if problem is not None:
                # The same 422 validationError, naming the parameter, that a bad body field gets.
                response = JSONResponse(validation_error_body([problem]), status_code=422)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
