"""GET /api/v1/health — never needs auth."""
from __future__ import annotations

import time

from flask import current_app
from flask.views import MethodView

from .. import engine
from ..store import JobStatus
from ..version import __version__
from .base import Blueprint, say
from .errors import ApiError
from .schemas import HealthSchema

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


def health_report() -> tuple[dict, list[str]]:
    """The health data and a list of problems (empty when healthy)."""
    services = current_app.extensions["clipzy"]
    problems: list[str] = []
    try:
        services.store.ping()
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - any database failure makes us unhealthy
        database = "error"
        problems.append(f"database: {type(exc).__name__}")
    free = 0
    try:
        free = services.storage.free_bytes()
        if not services.storage.writable():
            problems.append("storage: full or not writable")
    except OSError as exc:
        problems.append(f"storage: {exc.strerror or type(exc).__name__}")
    runner = services.runner
    try:
        queued = services.store.count_jobs(JobStatus.QUEUED) if database == "ok" else 0
    except Exception:  # noqa: BLE001
        queued = 0
    data = {
        "status": "ok" if not problems else "unavailable",
        "version": __version__,
        "uptime_seconds": round(time.time() - services.started_at, 3),
        "database": database,
        "storage": {"path": str(services.storage.root), "free_bytes": int(free)},
        "workers": {"max": runner.max_workers if runner else 0, "busy": runner.busy if runner else 0, "queued": queued},
        "onnx_providers": services.models.providers(),
        "models": engine.model_status(services.models),
    }
    return data, problems


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """Service health: database, storage, job pool, ONNX providers and models."""
        data, problems = health_report()
        if problems:
            raise ApiError("SERVICE_UNAVAILABLE", 503, "Service unavailable", f"{'; '.join(problems)}; health: {data}")
        say("Service is healthy")
        return data
