"""The incident web pages, under ``/incidents/``."""

from django.urls import path

from . import offline_views, views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("register/", views.register, name="register"),
    path("register/types/", views.type_choices, name="type_choices"),
    path("register/session/", offline_views.registration_session, name="registration-session"),
    path("register/sw.js", offline_views.service_worker, name="service-worker"),
    path("registered/<int:pk>/", views.registered, name="registered"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]

# --- Imports (data onboarding): upload, progress, confirmation, label mapping ---------------
from . import import_views  # noqa: E402

urlpatterns += [
    path("imports/", import_views.import_list, name="import-list"),
    path("imports/new/", import_views.import_new, name="import-new"),
    path("imports/<uuid:pk>/", import_views.import_detail, name="import-detail"),
    path("imports/<uuid:pk>/progress/", import_views.import_progress, name="import-progress"),
    path("imports/<uuid:pk>/confirm/", import_views.import_confirm, name="import-confirm"),
    path("imports/<uuid:pk>/revalidate/", import_views.import_revalidate, name="import-revalidate"),
    path("imports/<uuid:pk>/cancel/", import_views.import_cancel, name="import-cancel"),
    path("imports/<uuid:pk>/errors.csv", import_views.import_errors_csv, name="import-errors"),
    path("imports/mapping/", import_views.mapping_index, name="mapping-index"),
    path("imports/mapping/<str:brin>/", import_views.mapping_edit, name="mapping-edit"),
    path(
        "imports/mapping/<str:brin>/download.csv",
        import_views.mapping_download,
        name="mapping-download",
    ),
]

# --- Data-subject requests (AVG): search, export, erase; POST only ---------------------------
from . import privacy_views  # noqa: E402

urlpatterns += [
    path("privacy/", privacy_views.privacy_search, name="privacy"),
    path("privacy/export/", privacy_views.privacy_export, name="privacy-export"),
    path("privacy/erase/", privacy_views.privacy_erase, name="privacy-erase"),
]

# --- Export of the list with its filters (issue 6) --------------------------------------------
urlpatterns += [
    path("export.csv", views.export, {"fmt": "csv"}, name="export-csv"),
    path("export.xlsx", views.export, {"fmt": "xlsx"}, name="export-xlsx"),
]
