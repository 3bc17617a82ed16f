"""The web console served at ``/``: a Jinja page plus plain JavaScript and CSS.

The console is a client of the public v1 API only (``/api/v1``); it has no routes of its
own beyond the page and its static files, so everything it shows is what any API client
could get. Static files live under ``/console/static/`` (no build step, no CDN, works
offline). The app's security hooks add the Content-Security-Policy to these non-API pages;
all scripts are static files, so the page works under ``script-src 'self'``.
"""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                static_url_path="/console/static")


@blp.get("/")
def index():
    """The console page."""
    return render_template("index.html")


def init_web(app: Flask) -> None:
    """Register the console blueprint on ``app``."""
    app.register_blueprint(blp)
