"""The one base for every schema: camelCase on the wire, snake_case in Python."""

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """Pydantic model that reads and writes camelCase JSON.

    Python code uses snake_case attribute names; ``model_dump(by_alias=True)`` (what FastAPI does for
    responses) and request parsing both use the camelCase aliases, so the wire format is set in one place.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=False,
    )

    def to_json_dict(self) -> dict[str, object]:
        """The camelCase JSON-compatible dict of this model (what goes on the wire)."""
        return self.model_dump(mode="json", by_alias=True)

    def to_row(self, **kwargs: Any) -> dict[str, Any]:
        """Python-named (snake_case) dict of this model, e.g. for a database row."""
        return self.model_dump(by_alias=False, **kwargs)
