"""Our flask-smorest Api and Blueprint: the success envelope and strict argument parsing.

The success envelope ``{"success": true, "message", "data"}`` is added once, in the
blueprint's response-content hook, and documented by its twin so the OpenAPI document
shows what clients really get. A view sets the envelope's message with ``say()``.
"""
from __future__ import annotations

from flask import g
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from marshmallow import RAISE, fields
from webargs.flaskparser import FlaskParser

from .errors import http_error_response
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
