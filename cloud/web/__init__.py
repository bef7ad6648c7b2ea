"""The sellers' web dashboard: server-rendered pages (Jinja2) over the same services and session as the API.

``cloud.web.routes.router`` serves the pages (assembled from ``cloud.web.pages``);
``cloud.web.routes.static_files()`` the CSS and scripts.
"""
