"""Where every service's settings come from: one rule for the store node, the cloud and what comes next.

Sources, strongest first: constructor arguments (CLI flags), ``EDGESTORE_*`` environment variables, the TOML
file named by ``EDGESTORE_CONFIG_FILE`` (default ``edgestore.toml`` in the working directory, if present;
keys are the field names, e.g. ``data_dir = "/var/lib/edgestore"``). One file can configure every service
on a one-machine install, so a service's names must not collide with another's (the cloud's carry a
``cloud_`` prefix where the node has the same setting).
"""

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "EDGESTORE_"
CONFIG_FILE_VARIABLE = f"{ENV_PREFIX}CONFIG_FILE"
DEFAULT_CONFIG_FILE = Path("edgestore.toml")


class EdgestoreSettings(BaseSettings):
    """The base of each service's one settings object: subclasses declare fields, each with a default."""

    # extra="ignore": the shared file and environment hold the other services' settings too.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    config_file: Path = Field(default=DEFAULT_CONFIG_FILE)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The one place the config file's name is read from the environment: it must be known before the
        # other sources are read, so it cannot be an ordinary field.
        toml_file = Path(os.environ.get(CONFIG_FILE_VARIABLE, str(DEFAULT_CONFIG_FILE)))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)
