"""Clipzy ML Engine: learn a template video's Style DNA and apply it to other footage.

``create_app(config=None)`` builds the service: configuration (defaults, then
``instance/config.py``, then environment variables, then ``config`` for tests), the
SQLite store, file storage, the learned models' registry, the v1 API, the console, the
job runner and the webhook sender. It changes no process-wide state: the models folder
and the ONNX providers are the app's config handed to the engine through its
:class:`~clipzy.engine.models.ModelRegistry`; numba's cache folder is set once, by the
job pool (:func:`start_workers`).
"""
from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from .version import __version__

__all__ = ["Services", "WARM_UP_THREAD", "__version__", "create_app", "start_workers", "stop_workers"]

WARM_UP_THREAD = "clipzy-warm-up"  # the name of the thread of :func:`_warm_up` (gunicorn.conf.py waits for it)


@dataclass
class Services:
    """What the views and the CLI reach through ``app.extensions["clipzy"]``."""

    store: Any
    storage: Any
    models: Any  # clipzy.engine.models.ModelRegistry
    runner: Any
    webhooks: Any
    started_at: float


def create_app(config: dict[str, Any] | None = None):
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import config as cfg_mod
    from . import logs
    from .api import init_api
    from .api.uploads import StreamingRequest, cleanup_temp_uploads
    from .engine.models import ModelRegistry
    from .storage import Storage
    from .store import Store

    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("CLIPZY_INSTANCE_PATH")
    app = Flask(__name__, instance_path=os.path.abspath(instance) if instance else None,
                instance_relative_config=True)
    app.request_class = StreamingRequest
    app.config.from_mapping(cfg_mod.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(cfg_mod.from_environ())
    if config:
        app.config.update(config)
    cfg_mod.normalise(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    logs.configure(app.config["LOG_LEVEL"])

    models = ModelRegistry(app.config.get("CLIPZY_MODELS_PATH") or os.path.join(app.instance_path, "models"),
                           providers=app.config.get("CLIPZY_ONNX_PROVIDERS"))

    # Werkzeug refuses a larger Content-Length before reading, and cuts off a chunked body.
    from .api.uploads import MULTIPART_SLACK_BYTES

    app.config["MAX_CONTENT_LENGTH"] = int(float(app.config["MAX_FILE_SIZE_MB"]) * 1024 * 1024) + MULTIPART_SLACK_BYTES
    # Werkzeug's multipart decoder buffers file bytes up to the next line break and applies
    # this limit to that buffer too, so it must exceed any newline-free run in a video.
    app.config["MAX_FORM_MEMORY_SIZE"] = 4 * 1024 * 1024
    if app.config["CLIPZY_TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)

    store = Store(os.path.join(app.instance_path, "clipzy.sqlite3"))
    store.migrate()
    storage = Storage(app.instance_path)
    services = Services(store=store, storage=storage, models=models, runner=None, webhooks=None, started_at=time.time())
    app.extensions["clipzy"] = services
    app.teardown_appcontext(cleanup_temp_uploads)
    app.teardown_appcontext(lambda _exc=None: store.close())

    init_api(app)
    from .web import init_web

    init_web(app)

    if app.config["CLIPZY_START_RUNNER"]:
        start_workers(app)
    return app


def use_numba_cache(app) -> None:
    """Point librosa's numba cache at ``<instance>/cache/numba`` for this process (unless
    ``NUMBA_CACHE_DIR`` is already set): called by the processes that run the engine."""
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(app.instance_path, "cache", "numba"))


def start_workers(app) -> None:
    """Clean leftovers, then start the webhook sender and the job runner of ``app``.

    The job pool is where librosa's numba kernels compile: their cache goes to the instance
    folder (``NUMBA_CACHE_DIR``, unless already set) so the compile is paid once per machine.
    """
    from .engine.pipeline import stages_for
    from .jobs import webhooks
    from .jobs.runner import Runner

    use_numba_cache(app)
    services = app.extensions["clipzy"]
    services.storage.clean_leftovers(services.store.upload_storage_names())
    services.webhooks = webhooks.Sender(services.store, services.storage, app.config)
    services.webhooks.start()
    services.runner = Runner(services.store, services.storage, services.models,
                             stages=app.config.get("CLIPZY_STAGES_FOR") or stages_for,
                             max_workers=int(app.config["MAX_CONCURRENT_JOBS"]),
                             timeout_s=float(app.config["PROCESSING_TIMEOUT_SECONDS"]),
                             webhook_sender=services.webhooks)
    services.runner.start()
    if app.config.get("CLIPZY_WARM_UP", True):
        threading.Thread(target=_warm_up, args=(services.models,), name=WARM_UP_THREAD, daemon=True).start()
    atexit.register(stop_workers, app)


def _warm_up(models) -> None:
    """Pay librosa's numba compile and the ONNX session start once per worker, off the request path."""
    import json
    import logging

    log = logging.getLogger("clipzy")
    try:
        from .engine.analysis import audio

        log.info(json.dumps({"event": "warm_up", "seconds": round(audio.warm_up(models), 2)}))
    except Exception:  # noqa: BLE001 - a failed warm-up only costs the first job some time
        log.exception("warm-up failed")


def stop_workers(app) -> None:
    services = app.extensions["clipzy"]
    if services.runner is not None:
        services.runner.stop(wait=False)
    if services.webhooks is not None:
        services.webhooks.stop()
