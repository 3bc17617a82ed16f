"""The web console served at ``/``: a Jinja page plus plain JavaScript and CSS.

The console is a client of the public v1 API only (``/api/v1``); it has no routes of its
own beyond the page and its static files, so everything it shows is what any API client
could get. Static files live under ``/console/static/`` (no build step, no CDN, works
offline). The app's security hooks add the Content-Security-Policy to these non-API pages
(``script-src 'self' 'unsafe-inline'``); the console itself uses only its static script
file, no inline script or event-handler attribute. The page
carries the engine's stage names per job mode (``data-stages``), so the console's stepper
follows the one stage list.
"""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

from ..engine import STAGE_MODES

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                static_url_path="/console/static")


@blp.get("/")
def index():
    """The console page."""
    return render_template("index.html", stages={mode: list(names) for mode, names in STAGE_MODES.items()})


def init_web(app: Flask) -> None:
    """Register the console blueprint on ``app``."""
    app.register_blueprint(blp)
