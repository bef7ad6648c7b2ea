"""A checklist for people and for programs: one line per check with its mark (✓ pass, ✗ fail, ! warn,
– absent) and, under a failure or a warning, what to do; or a JSON list of ``{id, status, detail,
advice}``. Shared by ``edgestore doctor`` and, next, ``edgestore provision``."""

import json

from plumbing.i18n import N_
from provisioning.checks import Check, Status
from provisioning.i18n import translator

MARKS = {Status.PASS: "✓", Status.FAIL: "✗", Status.WARN: "!", Status.ABSENT: "–"}
LINE = N_("line")  # one check: its mark, title and detail


def human_lines(checks: list[Check], locale: str) -> list[str]:
    t = translator(locale)
    lines = []
    for check in checks:
        line = t(LINE, mark=MARKS[check.status], title=check.title(t), detail=check.detail(t))
        lines.append(line)
        if check.advice is not None and check.status in (Status.FAIL, Status.WARN):
            lines.append(f"    → {check.advice(t)}")
    counts = [f"{t(f'status.{status.value}')} {sum(c.status is status for c in checks)}" for status in Status]
    lines.append(" · ".join(counts))
    return lines


def json_text(checks: list[Check], locale: str) -> str:
    t = translator(locale)
    return json.dumps([check.as_dict(t) for check in checks], ensure_ascii=False, indent=2)
