"""Where the field guide's message keys come from, for ``plumbing.message_catalogs`` (``make messages``):
the checks' code, which marks each key with ``N_``, plus the status marks the command line shows."""

from pathlib import Path

from plumbing.message_catalogs import CatalogSources
from provisioning.checks import Status
from provisioning.i18n import CATALOG

SOURCES = CatalogSources(
    catalog=CATALOG,
    roots=(Path(__file__).parent,),
    families={"status": Status},  # the word beside each line's mark
)
