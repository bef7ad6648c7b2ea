"""Text every service accepts: no NUL, no other control characters, no lone surrogates.

PostgreSQL text cannot hold U+0000, and a lone surrogate (which ``json.loads`` lets through from a ``\\ud800``
escape) cannot be encoded to UTF-8 for PostgreSQL or SQLite: both used to surface as 500s deep in a write.
Other C0 controls and DEL have no use in names, notes or searches and break receipts and logs. Tab, line feed
and carriage return stay allowed: descriptions and notes are multi-line.
"""

import re

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

CONTROL_CHARACTER_MESSAGE = (
    "text must not contain control characters (U+0000-U+001F other than tab and line breaks, U+007F) "
    "or lone surrogates"
)


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a character no service accepts (see the module's doc)."""
    # Fast path: most text is printable, and every forbidden character is non-printable (Cc or Cs), so a
    # printable string needs no scan. isprintable() is False for tab, line feed and non-ASCII spaces too,
    # which is why the regex, not isprintable, has the last word.
    return not text.isprintable() and _FORBIDDEN.search(text) is not None


def holds_control_characters(value: object) -> bool:
    """True when ``value`` is such a string, or a list, tuple, set or dict holding one (keys included) at
    any depth. Other values (numbers, dates, models that validated themselves) are not looked into."""
    # Most fields are a plain string or a scalar: answer those without building a stack.
    if isinstance(value, str):
        return has_control_characters(value)
    if not isinstance(value, dict | list | tuple | set | frozenset):
        return False
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_control_characters(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return False


def without_control_characters(value: object) -> object:
    """``value`` with every such character removed, inside lists and dicts too (keys included): what the
    migrations that clean text stored before this rule write back."""
    if isinstance(value, str):
        return _FORBIDDEN.sub("", value) if has_control_characters(value) else value
    if isinstance(value, dict):
        return {without_control_characters(k): without_control_characters(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_control_characters(v) for v in value]
    return value
