from django.urls import path

from .. import converters  # noqa: F401 - registers <brin:> and <schoolyear:>
from . import research, views

# The path names the response as its body does: institution (the BRIN) and school year.
RESPONSE = "questionnaire/responses/<brin:institution>/<schoolyear:school_year>/"

urlpatterns = [
    path("research/policy/", research.ResearchPolicyView.as_view(), name="research-policy"),
    path("questionnaire/versions/", views.VersionList.as_view(), name="questionnaire-versions"),
    path("questionnaire/responses/", views.ResponseList.as_view(), name="questionnaire-responses"),
    path(RESPONSE, views.ResponseDetail.as_view(), name="questionnaire-response"),
    path(f"{RESPONSE}submit/", views.ResponseSubmit.as_view(), name="questionnaire-submit"),
    path(f"{RESPONSE}reopen/", views.ResponseReopen.as_view(), name="questionnaire-reopen"),
]
