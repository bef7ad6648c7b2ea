"""One error shape for every service: each failure becomes ``{"error": {"code", "message", ...}}`` with a
fitting status (``models.errors`` holds the domain's errors and builds the bodies). A service installs these
handlers and adds only what is its own (the node's ``databaseBusy`` from SQLite's lock, say)."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.errors import DomainError, error_body, validation_error_body

# The codes of what the framework answers by itself (an unknown route, a body over the limit...).
HTTP_ERROR_CODES = {
    401: "unauthenticated",
    404: "notFound",
    405: "methodNotAllowed",
    413: "payloadTooLarge",
    415: "unsupportedMediaType",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {}
        if "retry_after_s" in exc.details:  # a limit that lifts (a login delay): say when, as HTTP does
            headers["Retry-After"] = str(exc.details["retry_after_s"])
        if exc.status == 401:
            # HTTP requires a 401 to say how to authenticate; every API of ours takes a bearer token.
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(exc.errors()), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_ERROR_CODES.get(exc.status_code, "httpError")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
