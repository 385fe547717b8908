"""The import pages: upload, background check with progress, summary and every error,
confirmation, the label-mapping editor, and who may see what (404 for other institutions)."""

import csv
import io
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from incidents.choices import ImportKind, ImportStatus
from incidents.models import ImportJob, Incident, LabelMapping
from miv import jobs as miv_jobs
from miv.jobs import progress_writer as _progress_writer
from miv.jobs import publish_progress
from reporting.models import StudentCount
from tests.import_helpers import DUO_EXCERPT, csv_bytes

pytestmark = pytest.mark.django_db

GOOD = csv_bytes(
    [
        ["location", "occurred_on", "incident_type", "victim_role", "external_id"],
        ["A-HQ", "2023-03-14", "MIS.FYS.06", "student", "T-1"],
        ["A-HQ", "2022-10-01", "ONG.ONV.03", "staff", "T-2"],
    ]
)
BAD = csv_bytes(
    [
        ["location", "occurred_on", "incident_type", "victim_role"],
        ["A-HQ", "2023-03-14", "MIS.FYS.06", "student"],
        ["A-HQ", "2023-02-30", "MIS.FYS.06", "student"],
        ["NERGENS", "2023-03-14", "MIS.FYS.06", "student"],
    ]
)
LEGACY = csv_bytes(
    [
        ["Incidentnummer", "Aanmelddatum", "Vestiging", "Categorie"],
        ["1", "14-03-2023", "A-HQ", "Agressie"],
        ["2", "15-03-2023", "A-HQ", "Agressie"],
        ["3", "15-03-2023", "A-HQ", "Diefstal fiets"],
    ],
    delimiter=";",
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def web(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def upload(client, content: bytes, *, kind="incidents", institution=None, name="f.csv", **extra):
    data = {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv")}
    if institution is not None:
        data["institution"] = institution.pk
    data.update(extra)
    return client.post(reverse("incidents:import-new"), data)


def assert_csp_clean(html: str) -> None:
    """No inline scripts or styles: the Content-Security-Policy would block them."""
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html


def test_upload_only_queues_the_check(
    institution_a, location_a, coordinator_a, django_capture_on_commit_callbacks
):
    client = web(coordinator_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, GOOD, institution=institution_a)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("incidents:import-detail", args=[job.pk])
    # The web request stored the file and queued the task; it parsed nothing.
    assert job.status == ImportStatus.QUEUED and job.summary == {}
    assert len(callbacks) == 1
    with job.file.open("rb") as stored:
        assert stored.read() == GOOD
    page = client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<progress" in html
    assert 'hx-trigger="every 1s"' in html
    assert reverse("incidents:import-progress", args=[job.pk]) in html
    # Without JavaScript: a refresh in <noscript> and a plain reload link.
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert "Pagina vernieuwen" in html
    assert_csp_clean(html)


def test_upload_check_confirm_import(
    institution_a, location_a, coordinator_a, django_capture_on_commit_callbacks
):
    client = web(coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, GOOD, institution=institution_a, name="meldingen.csv")
    job = ImportJob.objects.get()
    assert (job.status, job.progress, job.error_count) == (ImportStatus.VALIDATED, 100, 0)
    assert job.summary["rows"] == 2 and job.summary["created"] == 2
    assert Incident.objects.count() == 0  # not before confirmation

    page = client.get(response.url).content.decode()
    assert "Controle geslaagd" in page and "meldingen.csv" in page
    assert reverse("incidents:import-confirm", args=[job.pk]) in page
    assert "Misdraging" in page and "2022-2023" in page
    assert_csp_clean(page)

    stored_file = job.file.path
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.finished_at
    assert set(Incident.objects.values_list("external_id", flat=True)) == {"T-1", "T-2"}
    assert set(Incident.objects.values_list("registered_by", flat=True)) == {coordinator_a.pk}
    # The uploaded file (personal data) is gone once imported.
    assert not job.file
    assert not os.path.exists(stored_file)

    # A second confirmation (double click) imports nothing again.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-confirm", args=[job.pk]))
    assert Incident.objects.count() == 2


def test_invalid_file_shows_every_error_and_cannot_be_confirmed(
    institution_a, location_a, coordinator_a, django_capture_on_commit_callbacks
):
    client = web(coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, BAD, institution=institution_a)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert [(line, column) for line, column, _msg in job.errors] == [
        (3, "occurred_on"),
        (4, "location"),
    ]
    page = client.get(reverse("incidents:import-detail", args=[job.pk])).content.decode()
    assert "Niets geïmporteerd" in page
    assert "2023-02-30" in page and "NERGENS" in page
    assert reverse("incidents:import-confirm", args=[job.pk]) not in page
    assert_csp_clean(page)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert Incident.objects.count() == 0

    errors_csv = client.get(reverse("incidents:import-errors", args=[job.pk]))
    body = b"".join(errors_csv.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows == [["regel", "kolom", "melding"]] + [
        [str(line), column, message] for line, column, message in job.errors
    ]
    assert "2023-02-30" in rows[1][2]


def test_progress_is_reported_while_checking(
    institution_a, location_a, coordinator_a, monkeypatch, django_capture_on_commit_callbacks
):
    seen = []
    monkeypatch.setattr(miv_jobs, "publish_progress", lambda job_id, f: seen.append(f))
    rows = [["location", "occurred_on", "incident_type", "victim_role"]]
    rows += [["A-HQ", "2023-03-14", "MIS.FYS.06", "student"]] * 9000
    with django_capture_on_commit_callbacks(execute=True):
        upload(web(coordinator_a), csv_bytes(rows), institution=institution_a)
    assert seen == sorted(seen) and len(seen) >= 4
    assert 0 < seen[0] < 1 and seen[-1] == 1.0
    assert ImportJob.objects.get().progress == 100


def test_progress_fragment(institution_a, coordinator_a):
    job = ImportJob.objects.create(
        kind=ImportKind.INCIDENTS,
        institution=institution_a,
        original_name="x.csv",
        status=ImportStatus.VALIDATING,
    )
    _progress_writer(job.pk)(0.37)
    job.refresh_from_db()
    assert job.progress == 37
    client = web(coordinator_a)
    url = reverse("incidents:import-progress", args=[job.pk])
    fragment = client.get(url, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert '<progress max="100" value="37"' in html and "hx-get" in html
    assert "HX-Refresh" not in fragment.headers
    # While the import transaction runs, the progress comes from the cache.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING)
    publish_progress(job.pk, 0.42)
    assert 'value="42"' in client.get(url, headers={"HX-Request": "true"}).content.decode()
    # Done: the page reloads to show the summary; without htmx the fragment URL redirects.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE)
    done = client.get(url, headers={"HX-Request": "true"})
    assert done.headers["HX-Refresh"] == "true"
    assert client.get(url).status_code == 302


def test_legacy_upload_unmapped_labels_then_mapping_editor(
    institution_a, location_a, coordinator_a, django_capture_on_commit_callbacks
):
    client = web(coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, LEGACY, institution=institution_a)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert job.summary["unmapped"] == [["Agressie", 2, 2], ["Diefstal fiets", 1, 4]]
    page = client.get(reverse("incidents:import-detail", args=[job.pk])).content.decode()
    mapping_url = reverse("incidents:mapping-edit", args=[institution_a.brin])
    assert f"{mapping_url}?job={job.pk}" in page

    editor = client.get(mapping_url, {"job": job.pk})
    html = editor.content.decode()
    assert 'value="Agressie"' in html and 'value="Diefstal fiets"' in html
    assert_csp_clean(html)
    formset = editor.context["formset"]
    data = {
        "map-TOTAL_FORMS": str(len(formset.forms)),
        "map-INITIAL_FORMS": "0",
        "map-MIN_NUM_FORMS": "0",
        "map-MAX_NUM_FORMS": "2000",
        "map-0-source_label": "Agressie",
        "map-0-incident_type": str(_type("MIS.FYS.06")),
        "map-1-source_label": "Diefstal fiets",
        "map-1-incident_type": str(_type("MIS.OVR.03")),
    }
    saved = client.post(f"{mapping_url}?job={job.pk}", data)
    assert saved.status_code == 302
    assert dict(LabelMapping.objects.values_list("source_label", "incident_type__code")) == {
        "Agressie": "MIS.FYS.06",
        "Diefstal fiets": "MIS.OVR.03",
    }
    # Labels now mapped are not offered again as new rows.
    again = client.get(mapping_url, {"job": job.pk}).content.decode()
    assert again.count('value="Agressie"') == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-revalidate", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and job.summary["created"] == 3


def _type(code):
    from taxonomy.models import IncidentType

    return IncidentType.objects.get(code=code).pk


def test_mapping_editor_rejects_duplicate_labels(institution_a, coordinator_a):
    url = reverse("incidents:mapping-edit", args=[institution_a.brin])
    data = {
        "map-TOTAL_FORMS": "2",
        "map-INITIAL_FORMS": "0",
        "map-MIN_NUM_FORMS": "0",
        "map-MAX_NUM_FORMS": "2000",
        "map-0-source_label": "Agressie",
        "map-0-incident_type": str(_type("MIS.FYS.06")),
        "map-1-source_label": "AGRESSIE ",
        "map-1-incident_type": str(_type("MIS.FYS.01")),
    }
    response = web(coordinator_a).post(url, data)
    assert response.status_code == 200
    assert "staat er al" in response.content.decode()
    assert not LabelMapping.objects.exists()


def test_mapping_csv_upload_and_download(institution_a, coordinator_a):
    client = web(coordinator_a)
    url = reverse("incidents:mapping-edit", args=[institution_a.brin])
    content = csv_bytes([["source_label", "incident_type"], ["Vechten", "MIS.FYS.06"]])
    client.post(url, {"upload": "1", "file": SimpleUploadedFile("m.csv", content)})
    assert LabelMapping.objects.get().incident_type.code == "MIS.FYS.06"
    download = client.get(reverse("incidents:mapping-download", args=[institution_a.brin]))
    assert download.content.decode("utf-8-sig").splitlines() == [
        "source_label,incident_type",
        "Vechten,MIS.FYS.06",
    ]


def test_administrator_imports_enrolments(administrator, django_capture_on_commit_callbacks):
    client = web(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, DUO_EXCERPT.read_bytes(), kind="enrolments", name="duo.csv")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert not StudentCount.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert StudentCount.objects.count() == job.summary["created"] > 0


def test_administrator_imports_scores(
    administrator, institution_a, django_capture_on_commit_callbacks
):
    client = web(administrator)
    content = csv_bytes(
        [
            ["institution", "source", "survey_year", "value"],
            [institution_a.brin, "job", "2022", "80"],
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, content, kind="scores")
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-confirm", args=[job.pk]))
    assert institution_a.safety_scores.get().value == 80


# --- Who may see what ----------------------------------------------------------------------


@pytest.fixture
def job_a(institution_a, coordinator_a):
    job = ImportJob.objects.create(
        kind=ImportKind.INCIDENTS,
        institution=institution_a,
        uploaded_by=coordinator_a,
        original_name="a-geheim.csv",
        status=ImportStatus.VALIDATED,
        summary={"rows": 1, "created": 1, "updated": 0, "unchanged": 0},
    )
    return job


@pytest.mark.parametrize(
    "name,method",
    [
        ("import-detail", "get"),
        ("import-progress", "get"),
        ("import-errors", "get"),
        ("import-confirm", "post"),
        ("import-revalidate", "post"),
        ("import-cancel", "post"),
    ],
)
def test_coordinator_of_b_gets_404_on_jobs_of_a(job_a, coordinator_b, name, method):
    client = web(coordinator_b)
    response = getattr(client, method)(
        reverse(f"incidents:{name}", args=[job_a.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 404
    job_a.refresh_from_db()
    assert job_a.status == ImportStatus.VALIDATED


def test_coordinator_of_b_does_not_see_a_in_the_list(job_a, coordinator_b, coordinator_a):
    assert (
        "a-geheim.csv"
        not in web(coordinator_b).get(reverse("incidents:import-list")).content.decode()
    )
    assert (
        "a-geheim.csv" in web(coordinator_a).get(reverse("incidents:import-list")).content.decode()
    )


@pytest.mark.parametrize("name", ["mapping-edit", "mapping-download"])
def test_coordinator_of_b_gets_404_on_mapping_of_a(institution_a, coordinator_b, name):
    client = web(coordinator_b)
    url = reverse(f"incidents:{name}", args=[institution_a.brin])
    assert client.get(url).status_code == 404
    post = client.post(
        url,
        {
            "map-TOTAL_FORMS": "1",
            "map-INITIAL_FORMS": "0",
            "map-0-source_label": "x",
            "map-0-incident_type": str(_type("MIS.FYS.06")),
        },
    )
    assert post.status_code in (404, 405)
    assert not LabelMapping.objects.exists()


def test_coordinator_cannot_upload_for_another_institution(
    institution_b, coordinator_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(web(coordinator_a), GOOD, institution=institution_b)
    assert response.status_code == 200
    assert "institution" in response.context["form"].errors
    assert not ImportJob.objects.exists()


def test_coordinator_cannot_upload_sector_files(institution_a, coordinator_a, administrator):
    response = upload(web(coordinator_a), DUO_EXCERPT.read_bytes(), kind="enrolments")
    assert "kind" in response.context["form"].errors
    assert not ImportJob.objects.exists()
    sector_job = ImportJob.objects.create(
        kind=ImportKind.ENROLMENTS, original_name="duo.csv", uploaded_by=administrator
    )
    detail = reverse("incidents:import-detail", args=[sector_job.pk])
    assert web(coordinator_a).get(detail).status_code == 404
    assert web(administrator).get(detail).status_code == 200


def test_administrator_sees_every_job(job_a, administrator):
    assert (
        web(administrator).get(reverse("incidents:import-detail", args=[job_a.pk])).status_code
        == 200
    )


@pytest.mark.parametrize("who", ["registrar_a", "researcher"])
def test_registrars_and_researchers_get_403(request, who, job_a):
    client = web(request.getfixturevalue(who))
    assert client.get(reverse("incidents:import-list")).status_code == 403
    assert client.get(reverse("incidents:import-new")).status_code == 403
    assert client.get(reverse("incidents:import-detail", args=[job_a.pk])).status_code == 403


def test_anonymous_goes_to_login(job_a):
    response = web(None).get(reverse("incidents:import-detail", args=[job_a.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_cancel_deletes_the_file(
    institution_a, location_a, coordinator_a, django_capture_on_commit_callbacks
):
    client = web(coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD, institution=institution_a)
    job = ImportJob.objects.get()
    path = job.file.path
    client.post(reverse("incidents:import-cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED and not job.file
    assert not os.path.exists(path)


def test_nav_and_home_link_to_imports(coordinator_a, registrar_a):
    url = reverse("incidents:import-list")
    assert url in web(coordinator_a).get(reverse("home")).content.decode()
    assert url not in web(registrar_a).get(reverse("home")).content.decode()


def test_stale_unconfirmed_uploads_are_purged(
    institution_a, location_a, coordinator_a, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.tasks import purge_stale_import_jobs

    client = web(coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD, institution=institution_a)
        upload(client, GOOD, institution=institution_a)
    old, recent = ImportJob.objects.order_by("pk")
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    old_path = old.file.path

    assert purge_stale_import_jobs.delay().get() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == ImportStatus.CANCELLED and not old.file
    assert not os.path.exists(old_path)
    assert recent.status == ImportStatus.VALIDATED and recent.file


def test_broker_down_leaves_the_job_retryable(
    institution_a, location_a, coordinator_a, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from incidents import tasks

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    client = web(coordinator_a)
    with monkeypatch.context() as patch:
        patch.setattr(tasks.validate_import_job, "apply_async", unreachable)
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, GOOD, institution=institution_a)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED and "niet bereikbaar" in job.message
    assert "niet bereikbaar" in client.get(response.url).content.decode()

    # The broker is back: check again, then confirm while it is down once more.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-revalidate", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and job.message == ""
    with monkeypatch.context() as patch:
        patch.setattr(tasks.run_import_job, "apply_async", unreachable)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("incidents:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and "niet bereikbaar" in job.message
    assert Incident.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Incident.objects.count() == 2
