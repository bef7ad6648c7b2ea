"""Fuzzing both HTTP APIs (issue 15): a deterministic walk of hostile values over every operation of an
app's OpenAPI schema, and the schemathesis run with those values mixed in (tests/schemathesis_hooks.py).

For each operation: its baseline request (path parameters from the test's own data, the body the test gives
for it), then the same request with one value swapped for a hostile one, in turn for every path parameter,
every query parameter, every field of the body (nested ones too, and the keys of its maps) and the body as a
whole. No answer may be a 5xx, and the refusals issue 15 asks for must be there:

- a control character (NUL and the other C0 controls, DEL, a lone surrogate) in any text: 422;
- a forged or garbled cursor: 422 ``invalidCursor`` on every paged route;
- a number given as text, as a boolean or with a fraction: 422 (``limit=2.0`` too);
- a day outside the years the API takes in a date parameter: 422 ``invalidDateRange``; a time outside them
  in a body: 422.

Random fuzzing (schemathesis) finds what nobody thought of; this walk makes sure each of these is tried on
every parameter and field, every run.
"""

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

Expect = tuple[int, str | None] | None
"""(status, error code or None for any) the answer must have; None: any answer below 500."""

REFUSED: Expect = (422, None)

CONTROL_TEXT = ["\x00", "a\x00b", "\x01", "\x1b[2J", "\x1f", "\x7f", "line\x0bbreak"]
LONE_SURROGATE = "\ud800"
ODD_TEXT = [
    "",
    " ",
    "x" * 5000,
    "' OR '1'='1' --",
    "%00",
    "\\",
    "../../etc/passwd",
    "🧋" * 40,
    "\u202e\u200b\ufeff",  # bidi override, zero-width space, BOM: printable enough, kept
    "\x85\u2028",  # C1 NEL, line separator: not C0, kept
]

FORGED_CURSORS = [
    "AAAA",  # three NUL bytes once taken for a position
    "AAAAAA",
    "YWJj",  # base64 of "abc"
    "MjAyNi0xMS0yOVQwMzowMDowMHx4",  # base64 of "2026-11-29T03:00:00|x": a time cursor's key, unsigned
    "!!",
    "",
    "x" * 300,
]

LOOSE_BODY_INTEGERS = ["2", True, 1.5, 2.0, ""]
BIG_INTEGERS = [2**63, -(2**63) - 1, 10**40, -1, 0]
LOOSE_QUERY_INTEGERS = ["2.0", " 5", "5_0", "true", "0x10", "1e2", "+5"]
BIG_QUERY_INTEGERS = ["99999999999999999999999", "-1", "0"]

FAR_DAYS = ["0001-01-01", "9999-12-31", "1999-12-31", "3000-01-01"]
BAD_DAYS = ["2026-02-30", "10000-01-01", "20260101x"]
FAR_MOMENTS = [
    "0001-01-01T00:00:00+08:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-08:00",
    "9999-12-31T23:59:59Z",
    "2026-01-01T00:00:00",  # no offset
]
WHOLE_BODIES: list[Any] = [None, [], "x", 0, {"\x00": "x"}, [[[[[[[[[[[]]]]]]]]]]]]

_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT")


@dataclass
class WalkResult:
    requests: int = 0
    problems: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)

    def report(self, limit: int = 25) -> str:
        return f"{len(self.problems)} problems in {self.requests} requests:\n" + "\n".join(
            self.problems[:limit]
        )


def text_hostiles(in_url: bool) -> Iterator[tuple[Any, Expect]]:
    for text in CONTROL_TEXT:
        yield text, REFUSED
    # In a URL a lone surrogate can only be sent as its UTF-8-ish bytes, which decode to U+FFFD: not refused.
    yield LONE_SURROGATE, None if in_url else REFUSED
    for text in ODD_TEXT:
        yield text, None


def _schema_of(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema itself, its $ref resolved, and the non-null branch of an ``anyOf`` with null."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    branches = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(branches) == 1:
        return _schema_of(spec, branches[0])
    return schema


def _query_hostiles(name: str, schema: Mapping[str, Any]) -> Iterator[tuple[str, Expect]]:
    yield from text_hostiles(in_url=True)
    if name == "cursor":
        for cursor in FORGED_CURSORS:
            yield cursor, (422, "invalidCursor")
    elif schema.get("type") == "integer":
        for text in LOOSE_QUERY_INTEGERS:
            yield text, REFUSED
        for text in BIG_QUERY_INTEGERS:
            yield text, None
    elif schema.get("format") == "date":
        for day in FAR_DAYS:
            yield day, (422, "invalidDateRange")
        for day in BAD_DAYS:
            yield day, REFUSED


def _value_hostiles(value: Any) -> Iterator[tuple[Any, Expect]]:
    """Hostile replacements for one body value, by what the baseline holds there."""
    if isinstance(value, bool) or value is None or isinstance(value, list):
        return
    if isinstance(value, int):
        for number in LOOSE_BODY_INTEGERS:
            yield number, REFUSED
        for number in BIG_INTEGERS:
            yield number, None
    elif isinstance(value, str):
        if _MOMENT.match(value):
            for moment in FAR_MOMENTS:
                yield moment, REFUSED
        yield from text_hostiles(in_url=False)
    elif isinstance(value, dict):
        # A key with a control character, in a map (attributes, metadata) or as an unknown field.
        yield {**value, "k\x00": "v"}, REFUSED


def _schema_hostiles(schema: Mapping[str, Any]) -> Iterator[tuple[Any, Expect]]:
    """For a top-level field the baseline body leaves out: hostiles by its schema type."""
    if schema.get("type") == "integer":
        yield from _value_hostiles(1)
    elif schema.get("type") == "string":
        yield from _value_hostiles("2026-01-01T00:00:00Z" if schema.get("format") == "date-time" else "x")


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _replaced(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    body = copy.deepcopy(body)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


def _url(template: str, path_values: Mapping[str, str], query: str = "") -> str:
    def value(match: re.Match[str]) -> str:
        raw = path_values[match.group(1)]
        return quote(raw.encode("utf-8", "surrogatepass"), safe="")

    url = re.sub(r"\{(\w+)\}", value, template)
    return f"{url}?{query}" if query else url


def _query(name: str, value: str) -> str:
    return f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"


def _order(item: tuple[str, str]) -> tuple[bool, bool]:
    path, method = item
    # Deleting and checking out end what the other operations work on: they go last.
    return method == "delete", path.endswith("/checkout")


@dataclass
class _Operation:
    client: httpx.Client
    result: WalkResult
    name: str
    method: str
    takes_json: bool

    def send(self, where: str, sent: Any, expect: Expect, *, url: str, body: Any) -> None:
        content = json.dumps(body).encode() if self.takes_json or body is not None else None
        headers = {"content-type": "application/json"} if content is not None else {}
        try:
            response = self.client.request(self.method, url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            self.result.problems.append(f"{self.name} {where}={sent!r:.80}: {exc!r}")
            return
        self.result.requests += 1
        status, code = response.status_code, None
        if expect is not None and expect[1] is not None and status == expect[0]:
            code = response.json().get("error", {}).get("code")
        if status >= 500 or (expect is not None and (status, expect[1] and code) != expect):
            wanted = f"want {expect}" if expect else "want < 500"
            self.result.problems.append(
                f"{self.name} {where}={sent!r:.80}: {status} {response.text[:200]} ({wanted})"
            )

    def try_parameters(
        self,
        spec: Mapping[str, Any],
        path: str,
        path_values: Mapping[str, str],
        parameters: list[Mapping[str, Any]],
        baseline: Any,
    ) -> None:
        """Each path and query parameter in turn takes each of its hostile values, the rest as in the
        baseline."""
        for param in parameters:
            pname, where = param["name"], param["in"]
            if where == "path":
                for value, expect in text_hostiles(in_url=True):
                    hostile_url = _url(path, {**path_values, pname: value})
                    self.send(f"path {pname}", value, expect, url=hostile_url, body=baseline)
            elif where == "query":
                for value, expect in _query_hostiles(pname, _schema_of(spec, param["schema"])):
                    hostile_url = _url(path, path_values, _query(pname, value))
                    self.send(f"query {pname}", value, expect, url=hostile_url, body=baseline)

    def try_bodies(self, url: str, baseline: Any) -> None:
        """Hostile bodies as a whole, then each value of the baseline body (nested ones too) in turn
        replaced by each of its hostile values."""
        for whole in WHOLE_BODIES:
            self.send("body", whole, None, url=url, body=whole)
        for leaf_path, value in _leaves(baseline):
            where = "body." + ".".join(str(p) for p in leaf_path) if leaf_path else "body"
            for hostile, expect in _value_hostiles(value):
                self.send(where, hostile, expect, url=url, body=_replaced(baseline, leaf_path, hostile))

    def try_missing_fields(
        self, spec: Mapping[str, Any], url: str, baseline: Any, body_schema: Mapping[str, Any]
    ) -> None:
        """Each top-level field the baseline body leaves out, added with each hostile value of its type."""
        schema = _schema_of(spec, body_schema)
        if not isinstance(baseline, dict):
            return
        for prop, prop_schema in schema.get("properties", {}).items():
            if prop in baseline:
                continue
            for hostile, expect in _schema_hostiles(_schema_of(spec, prop_schema)):
                self.send(f"body.{prop}", hostile, expect, url=url, body={**baseline, prop: hostile})


def walk_api(
    client: httpx.Client,
    spec: Mapping[str, Any],
    *,
    path_values: Mapping[str, str],
    bodies: Mapping[str, Any],
    skip: Collection[str] = (),
) -> WalkResult:
    """Walk every operation of ``spec`` except those in ``skip`` ("METHOD /path"). ``client`` is at the
    server's origin (the schema's paths are absolute); ``bodies`` holds the baseline JSON body of every
    operation that takes one ("METHOD /path" -> body)."""
    result = WalkResult()
    operations = [(path, method) for path, ops in spec["paths"].items() for method in ops]
    for path, method in sorted(operations, key=_order):
        name = f"{method.upper()} {path}"
        if name in skip:
            continue
        result.operations.append(name)
        op = spec["paths"][path][method]
        takes_json = "application/json" in op.get("requestBody", {}).get("content", {})
        if takes_json and name not in bodies:
            result.problems.append(f"{name}: no baseline body given for it")
            continue
        baseline = bodies.get(name)
        operation = _Operation(client, result, name, method.upper(), takes_json)
        url = _url(path, path_values)
        operation.send("baseline", None, None, url=url, body=baseline)
        operation.try_parameters(spec, path, path_values, op.get("parameters", []), baseline)
        if takes_json:
            operation.try_bodies(url, baseline)
            body_schema = op["requestBody"]["content"]["application/json"]["schema"]
            operation.try_missing_fields(spec, url, baseline, body_schema)
    return result


REPO = Path(__file__).resolve().parent.parent


def run_schemathesis(base_url: str, cwd: Path, *extra: str) -> str:
    """The schemathesis CLI against a running API (``base_url`` ends in /api/v1), checking only that no
    answer is a 5xx, with the hostile-value hooks loaded. Asserts it passed; returns its output."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(REPO / "tests" / "schemathesis_hooks.py"),
        "PYTHONPATH": str(REPO),  # the hooks take their values from this module
    }
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{base_url}/openapi.json",
            "--url",
            base_url.removesuffix("/api/v1"),
            "--checks",
            "not_a_server_error,hostile_values_are_refused",  # the second comes with the hooks
            "--max-examples",
            os.environ.get("EDGESTORE_FUZZ_EXAMPLES", "25"),
            "--seed",
            "2026",
            "--request-timeout",
            "20",
            "--no-color",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=cwd,
        check=False,
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    # Every case generated passed the check.
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases, output[-3000:]
    assert cases.group(1) == cases.group(2), output[-3000:]
    return output


def operations_tested(output: str) -> int:
    tested = re.search(r"Tested: (\d+)", output)
    assert tested, output[-3000:]
    return int(tested.group(1))
