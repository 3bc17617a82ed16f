"""The web console served at ``/`` (issue 6 builds it out); it uses only the public v1 API."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


@blp.get("/")
def index():
    return render_template("index.html")


def init_web(app: Flask) -> None:
    app.register_blueprint(blp)
