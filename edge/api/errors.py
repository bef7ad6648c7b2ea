"""The node's error handlers: the shared ones (``plumbing.errors``: ``{"error": {"code", "message"}}`` with a
fitting status) plus what only a node on SQLite needs, a busy database."""

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from models.errors import error_body
from plumbing import install_error_handlers as install_shared_handlers

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    install_shared_handlers(app)

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
