"""A seller's team: who besides the owner logs in to the seller's cloud account, and what each role may do.

The owner (the seller's own account) may do everything. Team members are invited by the owner with a role;
today the only one is ``fieldStaff``: the people who set up store nodes in the field, who may see the stores,
make claim codes and look after devices, but never see sales, orders, the catalog, stock or the team.

What a role may do is a table (``ROLE_CAPABILITIES``), read in one place (the cloud's dependencies), so a new
role is a new row and a route that names no capability is the owner's alone.

These are not a store's staff (``models.staff``: cashiers and managers at the counter with a PIN).
"""

from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """Who a cloud session belongs to."""

    OWNER = "owner"  # the seller's own account
    FIELD_STAFF = "fieldStaff"  # a team member who provisions store nodes


class Capability(StrEnum):
    """What a route needs beyond a login. The owner holds every capability."""

    OWNER_ONLY = "ownerOnly"  # sales, orders, catalog, stock, reports, staff, the team, the bell...
    DEVICE_ADMIN = "deviceAdmin"  # see stores, make and withdraw claim codes, see and manage devices


ROLE_CAPABILITIES: MappingProxyType[Role, frozenset[Capability]] = MappingProxyType(
    {
        Role.OWNER: frozenset(Capability),
        Role.FIELD_STAFF: frozenset({Capability.DEVICE_ADMIN}),
    }
)

INVITABLE_ROLES = (Role.FIELD_STAFF,)
"""The roles an owner may invite a team member with (never ``owner``)."""

INVITE_DAYS = 7
"""How long an invitation link works."""


def allows(role: Role, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES[role]
