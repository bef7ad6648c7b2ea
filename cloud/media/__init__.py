"""Where the cloud keeps what does not fit in Postgres rows: product metadata in MongoDB (montydb on disk
when no server is configured), image and model files in S3 (a local folder when no endpoint is configured),
and the image checks and thumbnails that guard what sellers upload."""
