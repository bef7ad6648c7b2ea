"""The e-invoice choice at pay time: mobile barcode carriers, donation codes, and tax IDs with the Ministry of
Finance's check (both rules, and the 7th-digit-7 case), by hand and by hypothesis."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.einvoice import EInvoice, EInvoiceKind, is_donation_code, is_mobile_barcode, is_tax_id
from models.errors import validation_error_body

FAST = settings(max_examples=300, derandomize=True, database=None, deadline=None)
WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)
CARRIER_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.+-"


@pytest.mark.parametrize(
    "tax_id",
    [
        # 0 4 5 9 5 2 5 7 x 1 2 1 2 1 2 4 1 = 0 8 5 18 5 4 20 7 -> digits 0+8+5+(1+8)+5+4+(2+0)+7 = 40: % 10
        "04595257",
        # 2 2 0 9 9 1 3 1 -> 2 4 0 18 9 2 12 1 -> 2+4+0+(1+8)+9+2+(1+2)+1 = 30: % 10
        "22099131",
        # 1 0 4 5 8 5 7 5 -> 1 0 4 10 8 10 28 5 -> 1+0+4+(1+0)+8+(1+0)+(2+8)+5 = 30: % 10, 7th digit 7 counted 10
        "10458575",
        # 1 2 3 4 5 6 7 5 -> 1 4 3 8 5 12 28 5 -> 1+4+3+8+5+(1+2)+(2+8)+5 = 39: not % 5; the 7th digit is 7,
        # so its 10 counts as 1 (1+0): 39 - 10 + 1 = 30, valid only by that case
        "12345675",
        # 0 4 5 9 5 2 5 2 -> as the first but 2 at the end: 40 - 7 + 2 = 35: % 5, not % 10 (the 2023 rule)
        "04595252",
    ],
)
def test_known_valid_tax_ids(tax_id):
    assert is_tax_id(tax_id)


@pytest.mark.parametrize(
    "tax_id",
    [
        "04595258",  # 40 - 7 + 8 = 41
        "22099132",  # 31
        "12345674",  # 38, and 38 - 10 + 1 = 29: neither
        "12345685",  # 1 4 3 8 5 12 32 5 -> 1+4+3+8+5+3+5+5 = 34: the 7th digit is 8, no second chance
        "0459525",  # 7 digits
        "045952570",  # 9 digits
        "0459525A",
        "０４５９５２５７",  # full-width digits
        "04595257\n",  # a line break after it
        "",
    ],
)
def test_invalid_tax_ids(tax_id):
    assert not is_tax_id(tax_id)


def _reference(tax_id: str) -> bool:
    """The rule said another way: the digits of every product written out and added up."""
    products = [int(d) * w for d, w in zip(tax_id, WEIGHTS, strict=True)]
    written = sum(int(c) for c in "".join(str(p) for p in products))
    if tax_id[6] == "7":
        return written % 5 == 0 or (written - 9) % 5 == 0  # 28 -> 2+8 = 10, or 1+0 = 1
    return written % 5 == 0


@FAST
@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_tax_ids_against_the_rule_written_another_way(tax_id):
    assert is_tax_id(tax_id) is _reference(tax_id)


@FAST
@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_two_check_digits_fit_any_number_and_four_when_its_7th_digit_is_7(first_seven):
    # The last digit has weight 1: it moves the sum by itself, so two of ten close it to a multiple of 5,
    # and two more close the alternative sum when the 7th digit is 7.
    fitting = [d for d in "0123456789" if is_tax_id(first_seven + d)]
    assert len(fitting) == (4 if first_seven[6] == "7" else 2)


@FAST
@given(st.text(min_size=0, max_size=10).filter(lambda s: not (len(s) == 8 and s.isascii() and s.isdigit())))
def test_nothing_but_8_ascii_digits_is_a_tax_id(text):
    assert not is_tax_id(text)


@pytest.mark.parametrize("value", ["/ABC1234", "/+.-0Z9A", "/0000000", "/A.B+C-D"])
def test_mobile_barcodes(value):
    assert is_mobile_barcode(value)


@pytest.mark.parametrize(
    "value",
    ["/abc1234", "ABC12345", "/ABC123", "/ABC12345", "//ABC123", "/ABC 123", "/ABC1234\n", "/ＡBC1234", ""],
)
def test_not_mobile_barcodes(value):
    assert not is_mobile_barcode(value)


@FAST
@given(st.text(alphabet=CARRIER_CHARS, min_size=7, max_size=7))
def test_slash_and_any_7_carrier_characters_is_a_barcode(body):
    assert is_mobile_barcode("/" + body)


@FAST
@given(st.text(max_size=9))
def test_a_barcode_is_exactly_slash_and_7_carrier_characters(text):
    expected = len(text) == 8 and text[0] == "/" and all(c in CARRIER_CHARS for c in text[1:])
    assert is_mobile_barcode(text) is expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [("123", True), ("1234567", True), ("12", False), ("12345678", False), ("12a", False), ("１２３", False)],
)
def test_donation_codes(value, ok):
    assert is_donation_code(value) is ok


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "none"},
        {"kind": "carrier", "value": "/ABC1234"},
        {"kind": "donation", "value": "8585"},
        {"kind": "taxId", "value": "22099131"},
    ],
)
def test_each_kind_round_trips_as_camel_case_json(body):
    choice = EInvoice.model_validate(body)
    assert choice.kind is EInvoiceKind(body["kind"])
    assert EInvoice.model_validate(choice.to_json_dict()) == choice


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "carrier", "value": "/abc1234"}, "invalidCarrier"),
        ({"kind": "carrier"}, "invalidCarrier"),  # a carrier needs its barcode
        ({"kind": "donation", "value": "12"}, "invalidDonationCode"),
        ({"kind": "donation", "value": None}, "invalidDonationCode"),
        ({"kind": "taxId", "value": "04595258"}, "invalidTaxId"),
        ({"kind": "taxId", "value": "/ABC1234"}, "invalidTaxId"),  # a value of another kind
        ({"kind": "none", "value": "04595257"}, "validationError"),  # none has no value
        ({"kind": "paper"}, "validationError"),
        ({"kind": "carrier", "value": "/ABC1234", "extra": 1}, "validationError"),
    ],
)
def test_a_refused_choice_answers_with_the_code_of_its_kind(body, code):
    with pytest.raises(ValidationError) as excinfo:
        EInvoice.model_validate(body)
    error = validation_error_body(excinfo.value.errors())["error"]
    assert error["code"] == code
    assert error["field"] in {"value", "kind", "extra"}
