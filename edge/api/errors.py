"""One place that turns every failure into ``{"error": {"code", "message"}}`` with a fitting status."""

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.errors import DomainError, error_body, validation_error_body

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "notFound", 405: "methodNotAllowed", 415: "unsupportedMediaType"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(exc.errors()), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "httpError")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(OperationalError)
    async def database_busy(_: Request, exc: OperationalError) -> JSONResponse:
        if isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig):
            # Writers waited the whole busy timeout: tell the client to retry rather than fail the sale.
            return JSONResponse(
                error_body("databaseBusy", "the store node is busy, retry shortly"),
                status_code=503,
                headers={"Retry-After": "1"},
            )
        log.exception("database error")
        return JSONResponse(error_body("internalError", "database error"), status_code=500)
