"""``ordering`` for the API lists: an unknown field is a 400 that lists the allowed ones
(DRF's own filter silently ignores it, which reads as "sorted as asked")."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=field,-other``: the view's ``ordering_fields``, ``-`` for descending.

    The primary key is added as the last key, so pages never overlap or skip a row when
    the asked field has equal values.
    """

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param, "").strip()
        if not raw:
            return self.get_default_ordering(view)
        valid = self._valid_names(queryset, view, request)
        terms = [term.strip() for term in raw.split(",")]
        unknown = [term for term in terms if term.removeprefix("-") not in valid]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: [
                        _("Onbekende sortering '%(value)s'. Mogelijk: %(allowed)s.")
                        % {
                            "value": ", ".join(unknown) or raw,
                            "allowed": ", ".join(sorted(valid)),
                        }
                    ]
                },
                code="invalid",
            )
        if not {"pk", "id"} & {term.removeprefix("-") for term in terms}:
            terms.append("pk")
        return terms

    def _valid_names(self, queryset, view, request=None) -> list[str]:
        return [item[0] for item in self.get_valid_fields(queryset, view, {"request": request})]

    def get_schema_operation_parameters(self, view):
        names = list(getattr(view, "ordering_fields", None) or [])
        if not names:
            return super().get_schema_operation_parameters(view)
        default = getattr(view, "ordering", None) or []
        default = [default] if isinstance(default, str) else list(default)
        alternatives = "|".join(re.escape(name) for name in names)
        term = f"-?(?:{alternatives})"
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": (
                    "Sort order: comma-separated field names, `-` before a name for "
                    f"descending. Fields: {', '.join(f'`{n}`' for n in names)}."
                    + (f" Default: `{','.join(default)}`." if default else "")
                    + " An unknown field is a 400."
                ),
                "schema": {"type": "string", "pattern": f"^{term}(?:,{term})*$"},
            }
        ]
