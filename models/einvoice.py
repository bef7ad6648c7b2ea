"""Taiwan's e-invoice (電子發票): what a shopper chooses at pay time, and the checks on what they type.

Every sale in Taiwan issues a uniform invoice; the shopper says where it goes:

- ``none``: nowhere in particular; the store prints the invoice's proof (電子發票證明聯);
- ``carrier``: to their mobile barcode carrier (手機條碼), ``/`` and 7 characters of ``0-9 A-Z . + -``;
- ``donation``: donated to a charity by its donation code (愛心碼), 3 to 7 digits;
- ``taxId``: to a company, by its unified business number (統一編號), 8 digits with the Ministry of Finance's
  check (``is_tax_id``).

Values are checked exactly as written: the kiosk's keyboard and a barcode scanner type capitals, and a value
the invoice platform would refuse is better refused while the shopper is still there. A failed check
answers with a code of its kind (``invalidCarrier``, ``invalidDonationCode``, ``invalidTaxId``), so the
kiosk can say which field to fix.
"""

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from models.base import CamelModel
from models.errors import coded_validation_error

_MOBILE_BARCODE = re.compile(r"/[0-9A-Z.+\-]{7}")
_DONATION_CODE = re.compile(r"[0-9]{3,7}")
_TAX_ID = re.compile(r"[0-9]{8}")
_TAX_ID_WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)


class EInvoiceKind(StrEnum):
    NONE = "none"
    CARRIER = "carrier"
    DONATION = "donation"
    TAX_ID = "taxId"


def is_mobile_barcode(value: str) -> bool:
    """A mobile barcode carrier: ``/`` then exactly 7 of ``0-9 A-Z . + -`` (``/ABC1234``, ``/+.-0Z9A``)."""
    return _MOBILE_BARCODE.fullmatch(value) is not None


def is_donation_code(value: str) -> bool:
    """A donation code (愛心碼): 3 to 7 ASCII digits."""
    return _DONATION_CODE.fullmatch(value) is not None


def is_tax_id(value: str) -> bool:
    """A company's unified business number (統一編號) that passes the Ministry of Finance's check.

    Multiply the 8 digits by 1, 2, 1, 2, 1, 2, 4, 1 and add up the digits of each product (9 x 2 = 18
    counts 1 + 8). The number is valid when the sum is a multiple of 5: the rule since 2023, when numbers
    ran short; the old rule, a multiple of 10, is the half of it every earlier number meets. When the 7th
    digit is 7, its product 28 has digits adding up to 10, which counts as 1 (1 + 0) as well as 0 (10's
    last digit): the number is valid when either sum is.
    """
    if _TAX_ID.fullmatch(value) is None:
        return False
    digits = [int(d) for d in value]
    total = sum(_digit_sum(d * w) for d, w in zip(digits, _TAX_ID_WEIGHTS, strict=True))
    if total % 5 == 0:
        return True
    return digits[6] == 7 and (total - 10 + 1) % 5 == 0


def _digit_sum(n: int) -> int:
    return n // 10 + n % 10  # a product is at most 9 x 4 = 36: two digits


_CHECKS = {
    EInvoiceKind.CARRIER: (
        is_mobile_barcode,
        "invalidCarrier",
        "a mobile barcode carrier is / followed by 7 characters of 0-9, A-Z, '.', '+' and '-'",
    ),
    EInvoiceKind.DONATION: (is_donation_code, "invalidDonationCode", "a donation code is 3 to 7 digits"),
    EInvoiceKind.TAX_ID: (
        is_tax_id,
        "invalidTaxId",
        "a tax ID (統一編號) is 8 digits that pass the Ministry of Finance's check",
    ),
}


class EInvoice(CamelModel):
    """Where the sale's e-invoice goes: ``{"kind": "carrier", "value": "/ABC1234"}``, ``{"kind": "none"}``."""

    kind: EInvoiceKind
    value: Annotated[
        str | None,
        Field(
            validate_default=True,  # a carrier, donation or tax ID without its value is refused by its kind
            description="carrier: / and 7 of 0-9 A-Z . + -; donation: 3-7 digits; taxId: 8 digits that pass "
            "the Ministry of Finance's check; none: absent",
        ),
    ] = None

    @field_validator("value", mode="after")
    @classmethod
    def _fits_its_kind(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself was refused: that is the error to report
            return value
        if kind is EInvoiceKind.NONE:
            if value is not None:
                raise ValueError("an e-invoice of kind none has no value")
            return value
        check, code, message = _CHECKS[kind]
        if value is None or not check(value):
            raise coded_validation_error(code, message)
        return value
