"""The OpenAPI schema tells the whole truth: every error an operation can answer, in the one
``Problem`` shape, and the same bytes whatever the reader's language.

* :class:`AutoSchema` adds the error answers each operation can give, worked out from the
  view (a request body or query parameters: 400 and 415; a login: 401 and 403; an object
  in the path or pages: 404; a throttle: 429; the database: 503), and declares every error
  answer as ``application/json`` ``Problem``, also where the operation's success is CSV.
  Answers an operation declares itself (409, its own descriptions) are kept.
* :class:`miv.api.views.SchemaView` renders the schema in English: component, enum and
  parameter names and descriptions must not change with ``Accept-Language`` (a client
  generated from a Dutch reading would not compile against an English one). People read
  the texts in the interface's language; the schema is for programs.
* Post-processing hooks: :func:`drop_parameter_titles` (django-filter labels become
  ``title`` members of parameters, which client generators turn into class names) and
  :func:`no_defaults_in_partial_updates`.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from miv.api.problems import ProblemSerializer

SCHEMA_LANGUAGE = "en"
JSON = "application/json"

ERROR_DESCRIPTIONS = {
    "400": (
        "Invalid input: `errors` lists each field, query parameter or header that is wrong, "
        "with a code and a message."
    ),
    "401": "Not authenticated: send `Authorization: Token <token>`.",
    "403": "Authenticated, but this account's role may not do this.",
    "404": "Not found, or not visible to this account.",
    "409": "Conflict with the current state; `code` says which.",
    "415": "The body must be JSON (`Content-Type: application/json`).",
    "429": "Too many requests: retry after the seconds in `Retry-After`.",
    "503": (
        "Temporarily unavailable (e.g. the database restarts): retry after the seconds in "
        "`Retry-After`."
    ),
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before retrying.",
    }
}


class AutoSchema(SpectacularAutoSchema):
    def get_description(self) -> str:
        # Only what the operation or its own view class says: drf-spectacular would
        # otherwise show a mixin's or base class's docstring (notes for developers).
        action = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own = self.view.__class__.__dict__.get("__doc__")
        text = getattr(action, "__doc__", None) if action and action.__doc__ else own
        return " ".join((text or "").split()) if text else ""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ProblemSerializer, description=ERROR_DESCRIPTIONS[code]),
                    code,
                    media_types=[JSON],
                    direction=direction,
                )
        for code, response in responses.items():
            if code >= "400":
                # Errors are JSON, also when the operation's success is CSV.
                problem = self._get_response_for_code(
                    ProblemSerializer, code, media_types=[JSON], direction=direction
                )
                response["content"] = problem["content"]
                response["description"] = response.get("description") or (
                    ERROR_DESCRIPTIONS.get(code, "")
                )
        return dict(sorted(responses.items()))

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if status_code in ("429", "503"):
            headers = {**RETRY_AFTER, **headers}
        return headers

    def _error_codes(self) -> list[str]:
        view = self.view
        public = all(isinstance(p, AllowAny) for p in view.get_permissions())
        has_body = self.method in ("POST", "PUT", "PATCH") and self._has_request_body()
        path_parameters = "{" in self.path
        list_view = self._is_list_view() and self.method == "GET"
        paginated = list_view and self._get_paginator() is not None
        query = any(
            getattr(p, "location", None) == "query" for p in self.get_override_parameters()
        ) or (list_view and (self.get_filter_backends() or paginated))
        codes = ["503"]
        if has_body or query:
            codes.append("400")
        if has_body:
            codes.append("415")
        if not public:
            codes += ["401", "403"]
        if path_parameters or paginated:
            codes.append("404")
        if view.get_throttles():
            codes.append("429")
        return codes

    def _has_request_body(self) -> bool:
        serializer = self.get_request_serializer()
        return serializer is not None


def drop_parameter_titles(result, generator, request, public):
    """Parameters keep their ``name`` and ``description``; a translated ``title`` would
    become a class name in generated clients."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                parameter.get("schema", {}).pop("title", None)
    return result


def no_defaults_in_partial_updates(result, generator, request, public):
    """A PATCH changes what it names; an omitted field stays as it is. Defaults on the
    ``Patched...`` request bodies would make generated clients send them (openapi-python-
    client fills every omitted field with its default), silently overwriting the incident's
    description, injury or external id."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.startswith("Patched"):
            for prop in component.get("properties", {}).values():
                prop.pop("default", None)
    return result
