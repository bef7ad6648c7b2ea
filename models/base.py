"""The one base for every schema: camelCase on the wire, snake_case in Python."""

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from models.text import CONTROL_CHARACTER_MESSAGE, has_control_characters, holds_control_characters

_CONTAINERS = (dict, list, tuple, set, frozenset)


class CamelModel(BaseModel):
    """Pydantic model that reads and writes camelCase JSON.

    Python code uses snake_case attribute names; ``model_dump(by_alias=True)`` (what FastAPI does for
    responses) and request parsing both use the camelCase aliases, so the wire format is set in one place.

    No string anywhere in a model may hold a control character or a lone surrogate (see ``models.text``):
    checked here, once, for every request body, response and sync message, so neither the APIs nor the
    databases behind them ever meet one.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=False,
    )

    @field_validator("*", mode="after")
    @staticmethod
    def _no_control_characters(value: Any) -> Any:
        # Runs for every field of every model (each request, response and sync message), so a plain
        # string, the common case, is answered inline; a number or a date is not looked at at all.
        if type(value) is str:
            if value.isprintable() or not has_control_characters(value):
                return value
        elif not isinstance(value, _CONTAINERS) or not holds_control_characters(value):
            return value
        # A custom error type, so a request holding one is answered 422 naming the field, like any other
        # schema violation, and the problem says why.
        raise PydanticCustomError("controlCharacter", CONTROL_CHARACTER_MESSAGE)

    def to_json_dict(self) -> dict[str, object]:
        """The camelCase JSON-compatible dict of this model (what goes on the wire)."""
        return self.model_dump(mode="json", by_alias=True)

    def to_row(self, **kwargs: Any) -> dict[str, Any]:
        """Python-named (snake_case) dict of this model, e.g. for a database row."""
        return self.model_dump(by_alias=False, **kwargs)
