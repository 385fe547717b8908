"""One place that turns exceptions into API answers: never a 500 for bad input, and every
error in the one ``Problem`` shape of :mod:`miv.api.problems` (``detail``, ``code``, and for
invalid input ``errors``), with texts in the request's language."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from miv.api.problems import problem
from miv.errors import DomainError

logger = logging.getLogger(__name__)

DATABASE_RETRY_SECONDS = 5
NON_FIELD_KEYS = {api_settings.NON_FIELD_ERRORS_KEY, "__all__"}


class ProblemException(exceptions.APIException):
    """An API error with extra ``Problem`` members (``parameter``, ``school_years``, ...)."""

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any):
        super().__init__(detail, code or self.default_code)
        self.extra = extra


class InvalidParameter(ProblemException):
    """400 naming the query parameter that is wrong."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_parameter"

    def __init__(self, parameter: str, message: str):
        super().__init__(message, parameter=parameter)
        self.parameter = parameter


class NoFigures(ProblemException):
    """404: no figures for what was asked, with the school years that have them."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "no_figures"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(_detail_from_django(exc))
    elif isinstance(exc, Http404):
        # Not Django's "No Incident matches the given query." (English, names the model).
        exc = exceptions.NotFound(_("Niet gevonden."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        body = problem(exc.message, exc.code, **exc.extra)
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away (restart, failover): tell the client to retry instead of
        # showing a traceback. The transaction was rolled back, so nothing is half-written.
        return unavailable(
            _("De database is tijdelijk niet bereikbaar. Probeer het zo opnieuw."),
            "database_unavailable",
            DATABASE_RETRY_SECONDS,
        )
    if isinstance(exc, DataError):
        # Input the database cannot even compare with (a NUL byte in a filter value, a number
        # out of range) is the client's error, not a 500. Logged, so a bug stays visible.
        logger.warning("database rejected request data: %s", exc, exc_info=exc)
        message = _("Ongeldige invoer: deze waarde kan niet worden verwerkt.")
        body = problem(message, "invalid", errors=[_error(None, "invalid", message)])
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        return Response(_body(exc), status=exc.status_code, headers=_headers(exc))
    return None


def unavailable(message: str, code: str, retry_after: int) -> Response:
    """503 with Retry-After, for a part of the service that is down for a moment."""
    return Response(
        problem(message, code, retry_after=retry_after),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(retry_after)},
    )


def _body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, ValidationError):
        errors = field_errors(exc.detail)
        return problem(_summary(errors), "invalid", errors=errors)
    if isinstance(exc, ProblemException):
        extra = dict(exc.extra)
        if isinstance(exc, InvalidParameter):
            extra["errors"] = [_error(exc.parameter, exc.default_code, exc.detail)]
        return problem(exc.detail, _code(exc), **extra)
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        message = ngettext(
            "Te veel verzoeken. Probeer het over %(wait)d seconde opnieuw.",
            "Te veel verzoeken. Probeer het over %(wait)d seconden opnieuw.",
            wait,
        ) % {"wait": wait}
        return problem(message, "throttled", retry_after=wait)
    if isinstance(exc, exceptions.AuthenticationFailed):
        message = _("Het API-token is ongeldig of verlopen, of de gebruiker is niet actief.")
        return problem(message, "authentication_failed")
    if isinstance(exc, exceptions.NotAuthenticated):
        message = _("Niet ingelogd: stuur een API-token mee (Authorization: Token …).")
        return problem(message, "not_authenticated")
    if isinstance(exc.detail, dict | list):
        # An APIException raised with structured detail: keep its texts as field errors.
        errors = field_errors(exc.detail)
        return problem(_summary(errors), _code(exc), errors=errors)
    if exc.status_code == status.HTTP_400_BAD_REQUEST:
        # Every 400 lists what is wrong; a body that is no JSON at all is wrong as a whole.
        errors = [_error(None, _code(exc), exc.detail)]
        return problem(exc.detail, _code(exc), errors=errors)
    return problem(exc.detail, _code(exc))


def _headers(exc: exceptions.APIException) -> dict:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    return headers


def _code(exc: exceptions.APIException) -> str:
    detail = exc.detail
    code = getattr(detail, "code", None) if isinstance(detail, ErrorDetail) else None
    return code or exc.default_code


# DRF's messages echo the value given ("Object met code=… bestaat niet."): a value of
# thousands of characters (a description sent in the wrong field) is shown shortened, with
# the start and end of the message kept.
DETAIL_MAX_LENGTH = 300
_DETAIL_HEAD, _DETAIL_TAIL = 200, 80


def _error(field: str | None, code: str | None, detail: Any) -> dict:
    return {"field": field, "code": code or "invalid", "detail": _shortened(str(detail))}


def _shortened(text: str) -> str:
    """``text``, or its start and end around "…" when it is longer than DETAIL_MAX_LENGTH."""
    if len(text) <= DETAIL_MAX_LENGTH:
        return text
    return f"{text[:_DETAIL_HEAD]}…{text[-_DETAIL_TAIL:]}"


def field_errors(detail: Any, prefix: str | None = None) -> list[dict]:
    """DRF's nested error detail as a flat list: one entry per message, the field path
    joined by dots (``items.0.name``), ``None`` for errors of the body as a whole."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = None if key in NON_FIELD_KEYS else str(key)
            path = name if prefix is None else (f"{prefix}.{name}" if name else prefix)
            errors += field_errors(value, path)
        return errors
    if isinstance(detail, list):
        errors = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                errors += field_errors(item, f"{prefix}.{index}" if prefix else str(index))
            else:
                errors.append(_error(prefix, getattr(item, "code", None), item))
        return errors
    return [_error(prefix, getattr(detail, "code", None), detail)]


def _summary(errors: list[dict]) -> str:
    if len(errors) == 1:
        error = errors[0]
        return f"{error['field']}: {error['detail']}" if error["field"] else error["detail"]
    fields = sorted({error["field"] for error in errors if error["field"]})
    if not fields:
        return _("De invoer is ongeldig.")
    return _("De invoer is ongeldig: %(fields)s.") % {"fields": ", ".join(fields)}


def _detail_from_django(exc: DjangoValidationError) -> dict | list:
    """Django's ValidationError (from ``full_clean``) as DRF detail, codes kept."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): [
                ErrorDetail(message, code=error.code or "invalid")
                for error in errors
                for message in error.messages
            ]
            for field, errors in exc.error_dict.items()
        }
    return {
        api_settings.NON_FIELD_ERRORS_KEY: [
            ErrorDetail(message, code=error.code or "invalid")
            for error in exc.error_list
            for message in error.messages
        ]
    }
