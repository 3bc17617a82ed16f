"""Our flask-smorest Api and Blueprint: the success envelope and strict argument parsing.

The success envelope ``{"success": true, "message", "data"}`` is added once, in the
blueprint's response-content hook, and documented by its twin so the OpenAPI document
shows what clients really get. A view sets the envelope's message with ``say()``.
"""
from __future__ import annotations

import os

from flask import g, request
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from marshmallow import RAISE, fields
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import ApiError, http_error_response
from .schemas import ErrorEnvelopeSchema, SuccessEnvelopeBase

_ENVELOPES: dict[type, type] = {}


def say(message: str) -> None:
    """Set the success envelope's ``message`` for this response."""
    g.envelope_message = message


class StrictParser(FlaskParser):
    """Unknown keys are refused in every location (query strings included).

    ``multipart`` is one location for a multipart/form-data body: its text fields and
    its files together, so one schema documents one request body.
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {loc: RAISE for loc in ("json", "query", "form", "files", "headers", "cookies",
                                                          "path", "json_or_form", "multipart")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.__location_map__ = {**self.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):
        from werkzeug.datastructures import CombinedMultiDict
        from webargs.multidictproxy import MultiDictProxy

        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class Blueprint(_Blueprint):
    ARGUMENTS_PARSER = StrictParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**_Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}

    @staticmethod
    def _prepare_response_content(data):
        return {"success": True, "message": g.get("envelope_message", "OK"), "data": data}

    @staticmethod
    def _make_doc_response_schema(schema):
        if schema is None:
            return None
        cls = schema if isinstance(schema, type) else type(schema)
        if issubclass(cls, ErrorEnvelopeSchema):
            return schema
        many = getattr(schema, "many", False)
        key = (cls, many)
        if key not in _ENVELOPES:
            name = cls.__name__.removesuffix("Schema") + ("List" if many else "") + "EnvelopeSchema"
            _ENVELOPES[key] = type(name, (SuccessEnvelopeBase,), {"data": fields.Nested(cls, many=many, required=True)})
        return _ENVELOPES[key]


    def fails(self, status: int, description: str):
        """Document an error response (the error envelope) with the codes it carries."""
        return self.alt_response(status, schema=ErrorEnvelopeSchema, description=description)


class Api(_Api):
    ERROR_SCHEMA = ErrorEnvelopeSchema

    def handle_http_exception(self, error):  # flask-smorest's own handler → our envelope
        return http_error_response(error)


def require_json_object(limit_bytes: int) -> None:
    """The request body must be a JSON object (400 INVALID_JSON) of at most ``limit_bytes``
    (422 VALIDATION_ERROR: API.md has no code for an oversized JSON body; it fails validation
    like any bad body). A body without Content-Length is read up to the limit, no further."""
    if not request.is_json:
        raise ApiError("INVALID_JSON", 400, "The request body must be JSON",
                       f"Content-Type must be application/json, got {request.mimetype or '(none)'}")
    too_large = ApiError("VALIDATION_ERROR", 422, "The request body is too large",
                         f"a JSON body may have at most {limit_bytes} bytes",
                         {"body": [f"Longer than maximum length {limit_bytes} bytes."]})
    if (request.content_length or 0) > limit_bytes:
        raise too_large
    request.max_content_length = limit_bytes
    try:
        if len(request.get_data(cache=True)) >= limit_bytes:
            raise too_large
        body = request.get_json(silent=True)
    except RequestEntityTooLarge:
        raise too_large from None
    except RecursionError:  # nesting deeper than the JSON parser's recursion limit
        body = None
    if not isinstance(body, dict):
        raise ApiError("INVALID_JSON", 400, "The request body is not valid JSON", "expected a JSON object")


def _missing_file() -> ApiError:
    """API.md's MISSING_FIELD for an upload without its ``file`` part."""
    return ApiError("MISSING_FIELD", 422, "No file uploaded", "the multipart field 'file' is required",
                    {"file": ["Missing data for required field."]})


def require_file_part(endpoint: str) -> None:
    """API.md: an upload to ``endpoint`` without a ``file`` part is MISSING_FIELD, whatever
    else it carries (a file sent under another name is a missing ``file``). Call it from the
    blueprint's ``before_request``, so it wins over the schema's unknown-field errors."""
    if request.method == "POST" and request.endpoint == endpoint and "file" not in request.files:
        raise _missing_file()


def streamed_upload(upload) -> str:
    """The temporary file the multipart parser streamed ``upload`` into, flushed and closed;
    503 when the disk filled while streaming (nothing was kept)."""
    if g.get("upload_storage_full"):
        raise ApiError("SERVICE_UNAVAILABLE", 503, "Storage is full",
                       "storage is full: no space left on device for the upload; nothing was kept",
                       headers={"Retry-After": "60"})
    if upload is None or not hasattr(upload, "stream"):
        raise _missing_file()
    temp_path = getattr(upload.stream, "name", None)
    if not isinstance(temp_path, str) or not os.path.isfile(temp_path):
        raise ApiError("INTERNAL_ERROR", 500, "Upload could not be stored", "the upload was not streamed to disk")
    upload.stream.flush()
    upload.stream.close()
    return temp_path
