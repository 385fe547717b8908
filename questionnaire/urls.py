"""The questionnaire's web pages, under ``/questionnaire/``."""

from django.urls import path

from . import (
    converters,  # noqa: F401 - registers <brin:> and <schoolyear:>
    sector_views,
    views,
)

app_name = "questionnaire"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("sector/", sector_views.sector_figures, name="sector"),
    path("<brin:brin>/<schoolyear:school_year>/", views.summary, name="summary"),
    path("<brin:brin>/<schoolyear:school_year>/start/", views.start, name="start"),
    path(
        "<brin:brin>/<schoolyear:school_year>/section/<int:number>/",
        views.section,
        name="section",
    ),
    path("<brin:brin>/<schoolyear:school_year>/submit/", views.submit, name="submit"),
    path("<brin:brin>/<schoolyear:school_year>/reopen/", views.reopen, name="reopen"),
    path(
        "<brin:brin>/<schoolyear:school_year>/answers.csv",
        views.download,
        {"fmt": "csv"},
        name="download-csv",
    ),
    path(
        "<brin:brin>/<schoolyear:school_year>/answers.xlsx",
        views.download,
        {"fmt": "xlsx"},
        name="download-xlsx",
    ),
]
