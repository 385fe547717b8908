from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularSwaggerSplitView

from miv import views
from miv.api.views import SchemaView

api_v1 = [
    path("", include("taxonomy.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("reporting.api.urls")),
    path("", include("questionnaire.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("accounts.login_urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("incidents/", include("incidents.urls")),
    path("figures/", include("reporting.urls")),
    path("questionnaire/", include("questionnaire.urls")),
]

handler404 = "miv.views.page_not_found"
handler500 = "miv.views.server_error"

admin.site.site_header = "MIV beheer"
admin.site.site_title = "MIV"
