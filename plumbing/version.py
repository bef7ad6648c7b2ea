"""The version of edgestore, from one source: ``[project] version`` in pyproject.toml, as packaging
recorded it when the project was installed (an editable install records it too)."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("edgestore")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0+source"
