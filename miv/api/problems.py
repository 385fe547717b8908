"""The one shape of every error answer of the API (the ``Problem`` schema component).

Every answer with status 400 or higher is a JSON object with a human-readable ``detail``
(in the request's language, Dutch or English) and a stable machine ``code`` (English, never
translated). Invalid input (400) adds ``errors``: one entry per field or query parameter,
each with its own ``code``. A few answers carry one more member that a client can act on;
they are listed here so that the schema names them.

:func:`problem` builds the body; :mod:`miv.api.exceptions` is the one place that turns
exceptions into answers with it.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# The codes a client may meet, by status (others may be added; clients should treat an
# unknown code like the status alone).
CODES = {
    400: ["invalid", "parse_error", "invalid_parameter"],
    401: ["not_authenticated", "authentication_failed"],
    403: ["permission_denied", "token_required"],
    404: ["not_found", "no_figures"],
    405: ["method_not_allowed"],
    406: ["not_acceptable"],
    409: [
        "duplicate_external_id",
        "idempotency_key_reused",
        "invalid_status",
        "incident_withdrawn",
        "conflict",
    ],
    415: ["unsupported_media_type"],
    429: ["throttled"],
    500: ["server_error"],
    503: ["database_unavailable", "audit_log_unavailable", "queue_unavailable"],
}


class FieldErrorSerializer(serializers.Serializer):
    """What is wrong with one field of the body, or one query parameter or header."""

    field = serializers.CharField(
        allow_null=True,
        help_text=(
            "The field of the request body (nested fields joined by dots), the query "
            "parameter or the header; null for an error of the body as a whole."
        ),
    )
    code = serializers.CharField(
        help_text="Stable machine code, e.g. `required`, `invalid`, `does_not_exist`."
    )
    detail = serializers.CharField(help_text="What is wrong, in the request's language.")


class ExistingIncidentSerializer(serializers.Serializer):
    """The incident that already holds an external id."""

    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="e.g. MIV-000123")


class ProblemSerializer(serializers.Serializer):
    """An error answer: what went wrong, for people (`detail`) and for programs (`code`)."""

    detail = serializers.CharField(
        help_text="What went wrong, in the request's language (Accept-Language: nl or en)."
    )
    code = serializers.CharField(
        help_text=(
            "Stable machine code, independent of the language. "
            "400: `invalid`, `parse_error`, `invalid_parameter`; "
            "401: `not_authenticated`, `authentication_failed`; "
            "403: `permission_denied`, `token_required`; 404: `not_found`, `no_figures`; "
            "409: `duplicate_external_id`, `idempotency_key_reused`, `invalid_status`, "
            "`incident_withdrawn`; 415: `unsupported_media_type`; 429: `throttled`; "
            "503: `database_unavailable`, `audit_log_unavailable`, `queue_unavailable`."
        )
    )
    errors = FieldErrorSerializer(
        many=True,
        required=False,
        help_text="400: every field, query parameter or header that is wrong, and why.",
    )
    parameter = serializers.CharField(
        required=False, help_text="400 of the figures API: the query parameter that is wrong."
    )
    existing = ExistingIncidentSerializer(
        required=False,
        help_text="409 `duplicate_external_id`: the incident that already has this external id.",
    )
    school_years = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="404 `no_figures`: the school years that do have figures.",
    )
    retry_after = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="429 and 503: seconds to wait before retrying (also the Retry-After header).",
    )


def problem(detail: Any, code: str, **extra: Any) -> dict:
    """The body of an error answer; ``extra`` members with a value of None are left out."""
    body = {"detail": str(detail), "code": code}
    body.update({key: value for key, value in extra.items() if value is not None})
    return body
