"""One place that turns exceptions into API answers: never a 500 for bad input."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from miv.errors import DomainError

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = ValidationError(exc.message_dict)
        else:
            exc = ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away (restart, failover): tell the client to retry instead of
        # showing a traceback. The transaction was rolled back, so nothing is half-written.
        return Response(
            {"detail": _("De database is tijdelijk niet bereikbaar. Probeer het zo opnieuw.")},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, DataError):
        # Input the database cannot even compare with (a NUL byte in a filter value, a number
        # out of range) is the client's error, not a 500. Logged, so a bug stays visible.
        logger.warning("database rejected request data: %s", exc, exc_info=exc)
        return Response(
            {"detail": _("Ongeldige invoer: deze waarde kan niet worden verwerkt.")},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
