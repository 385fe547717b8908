"""The schema view of the API (see :mod:`miv.api.schema`)."""

from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView

from miv.api.schema import SCHEMA_LANGUAGE


class SchemaView(SpectacularAPIView):
    """``/api/schema/``: the OpenAPI document, always rendered in English."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        # Not drf-spectacular's ``?lang=``: one schema, whoever reads it.
        with translation.override(SCHEMA_LANGUAGE):
            return self._get_schema_response(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Rendered here, still in English (lazy texts would otherwise be rendered later,
        # in the reader's language).
        with translation.override(SCHEMA_LANGUAGE):
            response.render()
        return response
