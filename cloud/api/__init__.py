"""The cloud's HTTP API under ``/api/v1``."""
