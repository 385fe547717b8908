"""The figures pages, under ``/figures/``: dashboards, the yearly export, registration quality."""

from django.urls import path

from . import quality_views, views

app_name = "reporting"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("chart/<str:figure>.svg", views.chart, name="chart"),
    path("data/<str:figure>.csv", views.figure_data, name="data"),
    path("export/", views.export_page, name="export"),
    path("export/download/", views.export_download, name="export-download"),
    # Registration quality per institution and school year (coordinators, administrators).
    path("quality/", quality_views.index, name="quality-index"),
    path("quality/<str:brin>/", quality_views.quality_page, name="quality"),
    path(
        "quality/<str:brin>/<str:school_year>/unusable/",
        quality_views.mark_unusable,
        name="quality-mark-unusable",
    ),
    path(
        "quality/<str:brin>/<str:school_year>/usable/",
        quality_views.mark_usable,
        name="quality-mark-usable",
    ),
]
