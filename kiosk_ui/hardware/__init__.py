"""The kiosk's hardware, each behind a small interface with a real implementation for the shop and one for
tests and the demo: the payment terminal, the receipt printer, the camera."""
