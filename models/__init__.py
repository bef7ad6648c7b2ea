"""The shared domain of edgestore: entities, money, the order state machine, pricing and schemas.

Pure Python: nothing here does I/O or imports another part of the project (an import-linter contract keeps
it so). Edge, cloud, kiosk and sync all build on these definitions.
"""

from models.base import CamelModel
from models.errors import (
    Conflict,
    CouponNotApplicable,
    DomainError,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    NotFound,
)
from models.ids import is_id, new_id
from models.money import CURRENCY, format_twd, percent_of
from models.order_states import STATUS_RANK, TRANSITIONS, Actor, OrderStatus, check_transition

__all__ = [
    "CURRENCY",
    "STATUS_RANK",
    "TRANSITIONS",
    "Actor",
    "CamelModel",
    "Conflict",
    "CouponNotApplicable",
    "DomainError",
    "IllegalTransition",
    "InsufficientStock",
    "InvalidInput",
    "NotFound",
    "OrderStatus",
    "check_transition",
    "format_twd",
    "is_id",
    "new_id",
    "percent_of",
]
