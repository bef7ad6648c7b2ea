"""The cloud backend: FastAPI on Postgres, MongoDB and S3, and the sellers' dashboard (not built yet)."""
