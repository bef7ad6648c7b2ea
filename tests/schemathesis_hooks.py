"""Schemathesis hooks for the fuzz runs of both APIs (tests/cloud/test_api_fuzz.py, tests/edge/test_node_api_fuzz.py, via SCHEMATHESIS_HOOKS).

Schemathesis generates from the schema, so it rarely sends what issue 15 is about: a NUL in a name, a forged
cursor, a day in year 1, a number as text. These hooks let hypothesis swap one value of a generated request
(a query parameter, a path parameter or any field of a JSON body) for one of those, in about half the cases;
the other half stay as generated. The values are the ones the deterministic walk uses (tests/api_fuzz.py).

And one check besides "no 5xx": a request holding a control character, or a forged cursor, is refused (4xx).
"""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import schemathesis
from hypothesis import strategies as st

from models.text import holds_control_characters
from tests.api_fuzz import (
    BIG_INTEGERS,
    CONTROL_TEXT,
    FAR_DAYS,
    FAR_MOMENTS,
    FORGED_CURSORS,
    LONE_SURROGATE,
    LOOSE_BODY_INTEGERS,
    LOOSE_QUERY_INTEGERS,
)

# Requests (schemathesis' transport) cannot put a lone surrogate in a URL: bodies only.
URL_TEXT = [*CONTROL_TEXT, *FORGED_CURSORS, *FAR_DAYS, *LOOSE_QUERY_INTEGERS, "9" * 30]
BODY_TEXT = [*CONTROL_TEXT, LONE_SURROGATE, *FAR_MOMENTS, "x" * 5000]
# Nor in a multipart form (the node's photo uploads): it encodes the form's fields as UTF-8.
FORM_TEXT = [text for text in BODY_TEXT if text != LONE_SURROGATE]
BODY_NUMBERS: list[Any] = [*LOOSE_BODY_INTEGERS, *BIG_INTEGERS]


def _swap_one(container: dict[str, Any], values: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    if not container:
        return st.just(container)
    swapped = st.tuples(st.sampled_from(sorted(container)), st.sampled_from(values)).map(
        lambda pair: {**container, pair[0]: pair[1]}
    )
    return st.one_of(st.just(container), swapped)


@schemathesis.hook
def flatmap_query(context: schemathesis.HookContext, query: dict[str, Any]) -> st.SearchStrategy:
    return _swap_one(query, URL_TEXT)


@schemathesis.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy:
    return _swap_one(path_parameters, CONTROL_TEXT)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every scalar in a JSON body, at any depth."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [(path, value)] if path else []
    return [leaf for key, item in items for leaf in _leaves(item, (*path, key))]


def _replaced(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy = list(body) if isinstance(body, list) else dict(body)
    copy[head] = _replaced(body[head], tuple(rest), new)
    return copy


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy:
    leaves = [(path, value) for path, value in _leaves(body) if isinstance(value, str | int)]
    if not leaves:
        return st.just(body)
    operation = context.operation
    form = operation is not None and any(
        str(alternative.media_type).startswith("multipart/") for alternative in operation.body
    )

    def hostile(path: tuple[Any, ...], value: Any) -> st.SearchStrategy[Any]:
        text = isinstance(value, str)
        return st.sampled_from((FORM_TEXT if form else BODY_TEXT) if text else BODY_NUMBERS).map(
            lambda new: _replaced(body, path, new)
        )

    swapped = st.sampled_from(leaves).flatmap(lambda leaf: hostile(*leaf))
    return st.one_of(st.just(body), swapped)


@schemathesis.check
def hostile_values_are_refused(ctx: Any, response: Any, case: Any) -> None:
    """A control character anywhere in the request, or a forged cursor, is never taken: the answer is a 4xx
    (which one depends on what else the generated request got wrong; 5xx is not_a_server_error's)."""
    if not 200 <= response.status_code < 400:
        return
    if any(
        holds_control_characters(part)
        for part in (case.path_parameters, _sent_query(response, case), case.body)
    ):
        raise AssertionError("a request holding a control character was accepted")
    if (case.query or {}).get("cursor") in FORGED_CURSORS:
        raise AssertionError("a forged cursor was accepted")


def _sent_query(response: Any, case: Any) -> Any:
    """The query as it went out: the request's URL decoded, not ``case.query``. Schemathesis may generate
    extra parameters holding lists of objects, which requests sends as the objects' keys only, so a control
    character deep in one never reaches the API and cannot be refused by it."""
    url = getattr(getattr(response, "request", None), "url", None)
    if not isinstance(url, str):
        return case.query
    return [part for pair in parse_qsl(urlsplit(url).query, keep_blank_values=True) for part in pair]
