"""Claiming this device's place in a store: ``POST /api/v1/devices/claim`` on the cloud, over HTTP.

The answer is the device's login (shown once): the caller writes it to the node's config before anything
else can fail. A refusal keeps the cloud's machine-readable code (``claimCodeUsed``, ``claimCodeExpired``,
``claimCodeNotFound``, ``tooManyAttempts``...), so the checklist can say what to do about it.
"""

from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from models.cloud_api import DeviceClaim, DeviceClaimed

CLAIM_PATH = "/api/v1/devices/claim"


@dataclass
class ClaimRefused(Exception):
    """The cloud said no (``code`` from its error body, or ``unreachable`` / ``badAnswer``)."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def cloud_base(url: str) -> str:
    """The cloud's address as typed, without a trailing slash or the API path."""
    base = url.strip().rstrip("/")
    return base.removesuffix("/api/v1")


def claim(cloud_url: str, body: DeviceClaim, *, timeout_s: float = 15.0) -> DeviceClaimed:
    url = cloud_base(cloud_url) + CLAIM_PATH
    try:
        response = httpx.post(url, json=body.model_dump(by_alias=True), timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ClaimRefused("unreachable", f"{url}: {exc}") from exc
    if response.status_code != httpx.codes.OK:
        try:
            error = response.json()["error"]
            raise ClaimRefused(str(error["code"]), str(error.get("message", "")))
        except (ValueError, KeyError, TypeError):
            raise ClaimRefused("badAnswer", f"{url} answered {response.status_code}") from None
    try:
        return DeviceClaimed.model_validate_json(response.content)
    except ValidationError as exc:
        raise ClaimRefused("badAnswer", f"{url} answered something that is not a claim: {exc}") from exc
