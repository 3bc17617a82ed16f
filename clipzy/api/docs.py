"""GET /api/v1/docs — interactive API reference rendered from /api/v1/openapi.json.

Served from the package (no CDN, works offline): a small page that lists every
operation with its parameters, request body and responses (schemas expanded), and
can send GET requests from the browser.
"""
from __future__ import annotations

from flask import Blueprint, send_from_directory

blp = Blueprint("api_docs", __name__, static_folder="static", static_url_path="/api/v1/docs/static")


@blp.get("/api/v1/docs")
def docs_page():
    return send_from_directory(blp.static_folder, "docs.html")
