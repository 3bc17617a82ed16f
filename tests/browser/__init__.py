"""Helpers for the console's browser tests: a live server in a thread and headless Chromium.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright's Python package
with ``executable_path``; no browser is ever downloaded.
"""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from typing import Any, Iterator

CHROMIUM = os.environ.get("CLIPZY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_available() -> tuple[bool, str]:
    """(True, "") when Playwright and a Chromium binary are both present, else (False, why)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "the playwright package is not installed (pip install playwright)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which("chromium"):
        return False, f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return True, ""


class LiveServer:
    """``app`` served by Werkzeug on 127.0.0.1 (free port, threaded) in a daemon thread."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="console-live-server", daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def open_page(browser: Any, *, viewport: dict | None = None) -> tuple[Any, list[str]]:
    """A page in a fresh context of ``browser``, with a list collecting console errors and page errors."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return page, errors


@contextmanager
def browser_page(*, viewport: dict | None = None) -> Iterator[tuple[Any, list[str]]]:
    """A fresh page in headless Chromium (see :func:`open_page`); ``page.context.browser`` opens more."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield open_page(browser, viewport=viewport)
        finally:
            browser.close()
