from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class StandardPagination(PageNumberPagination):
    """Page-number pagination; clients may ask for up to ``max_page_size`` rows a page.

    A larger ``page_size`` is capped (the answer's ``page_size`` says what was used); one
    that is not a whole number of at least 1 is a 400, not silently the default.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("Geef een heel getal vanaf 1 op (ten hoogste %(max)d).")
                        % {"max": self.max_page_size}
                    ]
                },
                code="invalid",
            )
        return min(int(raw), self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.effective_page_size = self.get_page_size(request)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "page_size": self.effective_page_size,
                "max_page_size": self.max_page_size,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        properties = paginated["properties"]
        paginated["properties"] = {
            "count": properties["count"],
            "page_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": self.max_page_size,
                "example": self.page_size,
                "description": "Rows per page used for this answer (the asked size, capped).",
            },
            "max_page_size": {
                "type": "integer",
                "example": self.max_page_size,
                "description": "The largest page size the API serves.",
            },
            "next": properties["next"],
            "previous": properties["previous"],
            "results": properties["results"],
        }
        paginated["required"] = ["count", "page_size", "max_page_size", "results"]
        return paginated

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1. A page past the last one is a 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Rows per page: default {self.page_size}, at most {self.max_page_size} "
                    f"(a larger value is capped at {self.max_page_size}; the answer's "
                    "`page_size` says what was used)."
                ),
                "schema": {"type": "integer", "minimum": 1, "default": self.page_size},
            },
        ]
