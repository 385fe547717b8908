"""The figures pages, under ``/figures/``."""

from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("chart/<str:figure>.svg", views.chart, name="chart"),
    path("data/<str:figure>.csv", views.figure_data, name="data"),
    path("export/", views.export_page, name="export"),
    path("export/download/", views.export_download, name="export-download"),
]
