"""The HTTP layer only: flask-smorest blueprints, schemas, envelopes, error handlers."""
from __future__ import annotations

from flask import Flask

from . import errors, security
from .base import Api


def init_api(app: Flask) -> Api:
    app.config.update({
        "API_TITLE": "Clipzy ML Engine",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": None,
        "OPENAPI_REDOC_PATH": None,
        "OPENAPI_RAPIDOC_PATH": None,
    })
    api = Api(app, spec_kwargs={
        "info": {"description": "Measure a template video's Style DNA and apply it to footage. Every response uses the "
                                "success or error envelope. When CLIPZY_API_KEYS is set, every operation but /health "
                                "needs `Authorization: Bearer <key>` (downloads also accept a signed `token`)."},
        "security": [{"bearer": []}, {}],  # {} : open when no keys are configured (the default)
    })
    from . import audio, docs, health, jobs, styles, videos

    for bp in (health.blp, videos.blp, audio.blp, jobs.blp, styles.blp):
        api.register_blueprint(bp)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    app.register_blueprint(docs.blp)
    errors.init_app(app)
    security.init_app(app)
    app.extensions["clipzy_api"] = api
    return api
