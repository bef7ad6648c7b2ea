"""The cloud backend: FastAPI on Postgres, MongoDB and S3, the sellers' dashboard, and the sync service."""
