"""The Kivy touchscreen self-checkout: a thin client of the store node's HTTP API (not built yet)."""
