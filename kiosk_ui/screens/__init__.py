"""The kiosk's screens: each draws its view-model and forwards touches to it (``kiosk_ui.routes`` lists
them). Every widget a test or screenshot needs to find has a ``kiosk_name``."""
