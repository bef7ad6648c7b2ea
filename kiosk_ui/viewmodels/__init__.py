"""The kiosk's state and logic, in plain Python over the node's client: what each screen shows and what a
touch does. Screens (``kiosk_ui/screens``) only draw a view-model and forward touches to it, so everything
here is tested without a window, against a real node."""
