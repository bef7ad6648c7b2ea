# The verbs a newcomer looks for. Everything runs from ./.venv (made by scripts/bootstrap).
.PHONY: install test lint format bench demo lock messages screenshots

install:
	scripts/bootstrap

test:
	scripts/test

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

# The store's own figures: the node's checkouts (about a minute), the kiosk (about 4 minutes; its own Xvfb
# when there is no display), then product recognition (about 2 minutes). The other benchmarks need
# PostgreSQL or Mosquitto: bench/README.md.
bench:
	.venv/bin/python bench/edge_checkout.py
	.venv/bin/python bench/kiosk.py
	.venv/bin/python bench/recognition.py

demo:
	scripts/demo

# Bring every language's .po file in step with the message keys the code uses (docs/i18n.md), then
# translate what it lists as missing.
# The kiosk's screens at 800x480 and 1280x800, zh-TW and English, into docs/screenshots/kiosk/ (its own
# node and Xvfb). The dashboard's: EDGESTORE_SCREENSHOTS_DIR=docs/screenshots pytest tests/cloud/test_dashboard_browser.py
screenshots:
	.venv/bin/python scripts/kiosk_screenshots.py

messages:
	.venv/bin/python -m plumbing.message_catalogs cloud.message_sources:SOURCES kiosk_ui.message_sources:SOURCES provisioning.message_sources:SOURCES

# Re-resolve the lock file after changing dependencies in pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --extra cloud --extra kiosk --extra train --extra ble --extra pi --constraint requirements/constraints.txt --universal --python-version 3.11 --generate-hashes -o requirements/dev.lock
