"""Denominators (student counts) and survey scores for administrators: visible and
correctable in the Django admin with the importers' checks (and the figures told), and
uploadable through the web with the commands' checks: line-numbered errors, nothing
imported from a file with an error."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from incidents.choices import ImportKind, ImportStatus
from incidents.models import ImportJob
from reporting.models import SafetyScore, StudentCount
from reporting.signals import figure_inputs_changed
from tests.import_helpers import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def admin_client(administrator):
    client = Client()
    client.force_login(administrator)
    return client


@pytest.fixture
def signals():
    received = []

    def listener(sender, school_years=None, **kwargs):
        received.append((sender, set(school_years)))

    figure_inputs_changed.connect(listener, dispatch_uid="test-inputs-admin")
    yield received
    figure_inputs_changed.disconnect(dispatch_uid="test-inputs-admin")


def test_student_counts_are_listed_and_corrected(
    admin_client, institution_a, signals, django_capture_on_commit_callbacks
):
    count = StudentCount.objects.create(institution=institution_a, school_year="2022-2023",
                                        students=2000, source="duo.csv")  # fmt: skip
    listing = admin_client.get(reverse("admin:reporting_studentcount_changelist"))
    assert listing.status_code == 200
    assert "2022-2023" in listing.content.decode()
    assert "/incidents/imports/new/?kind=enrolments" in listing.content.decode()

    url = reverse("admin:reporting_studentcount_change", args=[count.pk])
    form = {"institution": institution_a.pk, "school_year": "2022-2023", "students": "2100",
            "source": "", "source_date": ""}  # fmt: skip
    for bad, field in ((dict(form, students="0"), "students"),
                       (dict(form, school_year="2022/23"), "school_year")):  # fmt: skip
        answer = admin_client.post(url, bad)
        assert answer.status_code == 200 and field in answer.context["adminform"].form.errors
    count.refresh_from_db()
    assert count.students == 2000 and not signals

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, form).status_code == 302
    count.refresh_from_db()
    assert count.students == 2100 and count.source == "correctie door admin"
    assert signals == [(StudentCount, {"2022-2023"})]


def test_survey_scores_are_checked_like_the_importer(
    admin_client, institution_a, signals, django_capture_on_commit_callbacks
):
    add = reverse("admin:reporting_safetyscore_add")
    answer = admin_client.post(add, {"institution": institution_a.pk, "source": "mo",
                                     "survey_year": "2023", "value": "11"})  # fmt: skip
    assert "value" in answer.context["adminform"].form.errors
    assert not SafetyScore.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(add, {"institution": institution_a.pk, "source": "mo",
                                "survey_year": "2023", "value": "7.25"})  # fmt: skip
    assert SafetyScore.objects.get().value == Decimal("7.25")
    assert signals == [(SafetyScore, {"2022-2023"})]


def test_a_score_file_with_an_error_imports_nothing_and_names_the_line(
    admin_client, institution_a, django_capture_on_commit_callbacks
):
    form = admin_client.get("/incidents/imports/new/?kind=scores").context["form"]
    assert form["kind"].value() == ImportKind.SCORES
    content = csv_bytes([
        ["institution", "source", "survey_year", "value"],
        [institution_a.brin, "job", "2022", "80"],
        [institution_a.brin, "mo", "2022", "12"],
    ])  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/incidents/imports/new/", {
            "kind": ImportKind.SCORES,
            "file": SimpleUploadedFile("scores.csv", content, content_type="text/csv"),
        })  # fmt: skip
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert [line for line, _column, _message in job.errors] == [3]
    page = admin_client.get(reverse("incidents:import-detail", args=[job.pk])).content.decode()
    assert "tussen 0 en 10" in page
    assert not SafetyScore.objects.exists()
    # It cannot be confirmed.
    admin_client.post(reverse("incidents:import-confirm", args=[job.pk]))
    assert not SafetyScore.objects.exists()


def test_a_coordinator_has_no_admin(client, coordinator_a):
    client.force_login(coordinator_a)
    answer = client.get(reverse("admin:reporting_studentcount_changelist"))
    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]
