"""The filter backends of the API lists.

* ``ordering``: an unknown field is a 400 that lists the allowed ones (DRF's own filter
  silently ignores it, which reads as "sorted as asked").
* The view's FilterSet (the same one the HTML lists use) is built only when the request
  names one of its filters.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class FilterSetBackend(DjangoFilterBackend):
    """django-filter's backend, which skips the FilterSet when the query string names none
    of its filters (page 1 of a list, ``?page=2``).

    A filter without a value leaves the queryset as it is, so the answer is the same; what
    is saved is building the FilterSet's form with its scoped choice querysets, a tenth of
    page 1 of the incident list (benchmarks/registration_and_list.py). Limits: a filter is
    recognised by its name as the parameter (MIV's filters take one parameter each; a range
    filter's ``_min``/``_max`` would not be), and a FilterSet that filtered without being
    asked (a default) would have to leave this backend. MIV's have neither.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not filterset_class.base_filters.keys() & set(
            request.query_params
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


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
