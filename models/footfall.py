"""Footfall: people passing the door, as append-only events with ids (aggregates are recomputed)."""

from enum import StrEnum

from pydantic import AwareDatetime

from models.base import CamelModel
from models.catalog import Ident


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class FootfallSource(StrEnum):
    CAMERA = "camera"
    PIR = "pir"
    FUSED = "fused"  # camera and PIR agreed


class FootfallEvent(CamelModel):
    event_id: Ident
    store_id: Ident
    device_id: Ident
    occurred_at: AwareDatetime
    direction: Direction
    source: FootfallSource
