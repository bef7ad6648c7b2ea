"""Store staff: who may act at the counter, with what role, and the record of an account that travels from
the cloud to a store node.

Staff log in at the store node with their name and a PIN (4-8 digits). Only argon2 hashes of PINs are ever
stored or sent; hashing itself is I/O-free but needs a C library, so it lives in ``plumbing.credentials``,
not here. A name is unique among a store's active accounts whatever its case or width (``name_key``), so
"Amy" and "ａｍｙ" cannot be two people at one till.
"""

import unicodedata
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StrictInt

from models.base import CamelModel
from models.ids import Ident
from models.order_states import TERMINAL_STATES, OrderStatus

PIN_PATTERN = r"^[0-9]{4,8}$"
Pin = Annotated[str, Field(pattern=PIN_PATTERN, description="4 to 8 digits")]
# One line of text without surrounding blanks: it is shown on receipts, the dashboard and the CLI's list.
StaffName = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^\S(?:[^\t\n\r]*\S)?$", description="1-64 characters")
]
PinHash = Annotated[str, Field(min_length=20, max_length=200, pattern=r"^\$argon2(id|i|d)\$")]
"""An argon2 hash in its PHC string form (``$argon2id$v=19$m=...``): the only form a PIN is kept or sent in."""


class StaffRole(StrEnum):
    CASHIER = "cashier"  # sells and moves orders along
    MANAGER = "manager"  # also undoes sales: cancels, refunds and returns

    def allows(self, needed: "StaffRole") -> bool:
        """Whether this role may do what ``needed`` may: a manager may do all a cashier may."""
        return _RANK[self] >= _RANK[needed]


_RANK = {StaffRole.CASHIER: 0, StaffRole.MANAGER: 1}


def name_key(name: str) -> str:
    """What two names are compared by: Unicode-normalised (full-width letters are letters), case-folded,
    inner runs of blanks as one space."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def role_for_transition(target: OrderStatus) -> StaffRole:
    """The role a status change made at the store needs: undoing a sale (cancel, refund, return) is a
    manager's; moving an order along is any staff member's."""
    return StaffRole.MANAGER if target in TERMINAL_STATES else StaffRole.CASHIER


class StaffRecord(CamelModel):
    """A staff account as the cloud keeps it, sent down the store's feed (and in its snapshot) to the store
    node, which applies a record only when its ``version`` is above the one it holds. ``removed`` accounts
    are sent too, so a node learns that someone left."""

    model_config = ConfigDict(frozen=True)

    staff_id: Ident
    store_id: Ident
    name: StaffName
    role: StaffRole
    pin_hash: PinHash
    removed: bool = False
    version: Annotated[StrictInt, Field(ge=1)]


class StaffRef(CamelModel):
    """Who did something at the store: the staff member's id and name as they were then (a name may
    change later; an account made at the node is unknown to the cloud, which shows what the node said)."""

    model_config = ConfigDict(frozen=True)

    staff_id: Ident
    name: StaffName
