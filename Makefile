# The verbs a newcomer looks for. Everything runs from ./.venv (made by scripts/bootstrap).
.PHONY: install test lint format bench demo lock

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

bench:
	.venv/bin/python bench/edge_checkout.py

demo:
	scripts/demo

# Re-resolve the lock file after changing dependencies in pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes -o requirements/dev.lock
