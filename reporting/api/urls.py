from django.urls import path

from reporting.api import research, views

urlpatterns = [
    path("figures/rates/", views.RatesView.as_view(), name="figures-rates"),
    path("figures/sector/", views.SectorView.as_view(), name="figures-sector"),
    path("figures/correlation/", views.CorrelationView.as_view(), name="figures-correlation"),
    path("figures/jobs/", views.JobCreateView.as_view(), name="figures-jobs"),
    path("figures/jobs/<uuid:pk>/", views.JobDetailView.as_view(), name="figures-job-detail"),
    path("research/rates/", research.ResearchRatesView.as_view(), name="research-rates"),
    path("research/rates.csv", research.ResearchRatesCSVView.as_view(), name="research-rates-csv"),
]
