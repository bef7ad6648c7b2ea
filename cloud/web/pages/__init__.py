"""The dashboard's pages, one module per area; each has its own ``router``, assembled in ``cloud.web.routes``."""
