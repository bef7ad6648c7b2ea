"""The ``edgestore`` command line and the demo that runs the whole system on one machine."""
