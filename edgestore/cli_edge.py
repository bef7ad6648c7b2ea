"""``edgestore edge``: the node's own commands (edge/cli.py) and ``status``, a client of the node, which is
not edge/'s to hold (the node does not import its client): added here, in the composition root."""

from edge.cli import app
from edgestore.edge_status import status

app.command("status")(status)

__all__ = ["app"]
