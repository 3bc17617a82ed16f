"""/api/v1/styles (v1.1): Style DNA kept under a name, to apply again without the template file."""
from __future__ import annotations

import math

from flask import current_app, request
from flask.views import MethodView

from ..jobs import intake
from ..jobs.payloads import style_payload
from .base import Blueprint, require_json_object, say
from .schemas import StyleCreateSchema, StyleListArgsSchema, StyleListSchema, StyleSchema

blp = Blueprint("styles", __name__, url_prefix="/api/v1/styles", description="Saved styles")


def services():
    return current_app.extensions["clipzy"]


#: A Style DNA of a long template (beats, shots, overlays) stays well under this.
STYLE_BODY_LIMIT_BYTES = 4 * 1024 * 1024


@blp.before_request
def require_json_body():
    """POST bodies must be JSON objects of at most 4 MiB (as for POST /jobs)."""
    if request.method == "POST":
        require_json_object(STYLE_BODY_LIMIT_BYTES)


@blp.route("")
class Styles(MethodView):
    @blp.arguments(StyleCreateSchema)
    @blp.response(200, StyleSchema)
    @blp.fails(400, "INVALID_JSON")
    @blp.fails(404, "JOB_NOT_FOUND")
    @blp.fails(409, "RESULT_NOT_READY")
    @blp.fails(422, "VALIDATION_ERROR (a style_json that does not fit the Style DNA schema; not exactly one of job_id, style_json)")
    def post(self, body):
        """Save the Style DNA of a completed job (`job_id`) or one given (`style_json`) under `name`."""
        row = intake.save_style(services(), name=body["name"], job_id=body.get("job_id"), style_json=body.get("style_json"))
        say("Style saved")
        return style_payload(row)

    @blp.arguments(StyleListArgsSchema, location="query")
    @blp.response(200, StyleListSchema)
    @blp.fails(422, "VALIDATION_ERROR")
    def get(self, args):
        """List saved styles, newest first, with pagination."""
        page, size = args["page"], args["page_size"]
        rows, total = services().store.list_styles(offset=(page - 1) * size, limit=size)
        say("Styles retrieved")
        return {"styles": [style_payload(r, with_dna=False) for r in rows], "total": total, "page": page,
                "page_size": size, "total_pages": math.ceil(total / size) if total else 0}


@blp.route("/<string:style_id>")
class StyleById(MethodView):
    @blp.response(200, StyleSchema)
    @blp.fails(404, "STYLE_NOT_FOUND")
    def get(self, style_id: str):
        """A saved style with its Style DNA."""
        say("Style retrieved")
        return style_payload(intake.style_or_refuse(services().store, style_id))

    @blp.response(200, StyleSchema)
    @blp.fails(404, "STYLE_NOT_FOUND")
    def delete(self, style_id: str):
        """Delete a saved style (jobs that used it keep their own copy)."""
        row = intake.style_or_refuse(services().store, style_id)
        services().store.delete_style(style_id)
        say("Style deleted")
        return style_payload(row)
