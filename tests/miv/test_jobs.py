"""The one background-job model and the one way to enqueue (issue 16): status changes are
compare-and-set, attempts count, abandoned jobs of every kind are failed, and a broker that is
away is met with one policy: fail fast, record it on the job, let its owner try again."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents import import_jobs
from incidents.choices import ImportKind, ImportStatus
from incidents.models import ImportJob
from miv import jobs
from miv.choices import JobStatus
from miv.models import Job
from reporting import engine
from reporting.choices import JobReason
from reporting.models import FigureJob
from tests.import_helpers import csv_bytes

pytestmark = pytest.mark.django_db

YEAR = "2022-2023"
GOOD = csv_bytes(
    [
        ["location", "occurred_on", "incident_type", "victim_role"],
        ["A-HQ", "2023-03-14", "MIS.FYS.06", "student"],
    ]
)


@pytest.fixture
def with_a_broker():
    """Tasks are sent to a broker instead of run in-process."""
    from miv.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def broker_refused(with_a_broker, monkeypatch):
    attempts = []

    def refused(*args, **kwargs):
        attempts.append(kwargs)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(with_a_broker, "connection_for_write", refused)
    monkeypatch.setattr(jobs, "_broker_down_until", 0.0)
    return attempts


def test_sending_fails_fast_and_backs_off_while_the_broker_is_down(broker_refused):
    from reporting import tasks

    for _ in range(3):
        with pytest.raises(jobs.BrokerUnavailable):
            jobs.send(tasks.recompute_stale_year, args=[YEAR], countdown=60)
    # One connection attempt, without retries; then no attempts during the back-off.
    assert len(broker_refused) == 1
    assert broker_refused[0]["transport_options"]["max_retries"] == 0
    assert broker_refused[0]["connect_timeout"] == jobs.CONNECT_TIMEOUT_SECONDS


def test_an_upload_while_the_broker_is_down_says_so_and_can_be_tried_again(
    settings,
    tmp_path,
    institution_a,
    location_a,
    coordinator_a,
    broker_refused,
    django_capture_on_commit_callbacks,
):
    """The same policy with a real (refused) broker connection, not an eager run."""
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        job = import_jobs.create_job(
            user=coordinator_a,
            kind=ImportKind.INCIDENTS,
            upload=SimpleUploadedFile("f.csv", GOOD),
            institution=institution_a,
        )
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "niet bereikbaar" in job.message
    assert len(broker_refused) == 1
    # The owner tries again: still down (backing off, no new connection attempt).
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs.revalidate_job(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and len(broker_refused) == 1


def test_a_figures_request_while_the_broker_is_down_is_recorded_on_the_job(
    administrator, client_for, broker_refused
):
    response = client_for(administrator).post("/api/v1/figures/jobs/", {"school_year": YEAR})
    assert response.status_code == 503
    job = FigureJob.objects.get()
    assert job.status == JobStatus.FAILED and job.error == "broker unreachable"


def test_status_changes_are_compare_and_set(institution_a):
    job = ImportJob.objects.create(
        kind=ImportKind.INCIDENTS,
        institution=institution_a,
        original_name="f.csv",
        status=ImportStatus.VALIDATED,
    )
    move = {"from_": [ImportStatus.VALIDATED], "to": ImportStatus.IMPORTING}
    assert ImportJob.objects.transition(job.pk, **move) is True
    assert ImportJob.objects.transition(job.pk, **move) is False  # a double click
    assert Job.objects.get(pk=job.pk).status == ImportStatus.IMPORTING


def test_attempts_count_and_a_finished_job_does_not_start_again():
    job = engine.create_job(YEAR, reason=JobReason.API)
    running = FigureJob.objects.start(job.pk, from_=[JobStatus.QUEUED, JobStatus.RUNNING])
    assert (running.status, running.attempts, running.started_at is not None) == (
        JobStatus.RUNNING,
        1,
        True,
    )
    FigureJob.objects.fail(job.pk, "OperationalError", final=False)  # retried
    again = FigureJob.objects.start(job.pk, from_=[JobStatus.QUEUED, JobStatus.RUNNING])
    assert (again.attempts, again.retried, again.error) == (2, True, "")
    FigureJob.objects.finish(job.pk)
    assert FigureJob.objects.start(job.pk, from_=[JobStatus.QUEUED]) is None
    assert FigureJob.objects.get(pk=job.pk).attempts == 2


def test_one_table_lists_every_kind_and_abandoned_jobs_of_any_kind_fail(institution_a):
    figures = engine.create_job(YEAR, reason=JobReason.NIGHTLY)
    upload = ImportJob.objects.create(
        kind=ImportKind.INCIDENTS,
        institution=institution_a,
        original_name="f.csv",
        status=ImportStatus.IMPORTING,
    )
    recent = engine.create_job("2021-2022", reason=JobReason.API)
    assert set(Job.objects.values_list("pk", flat=True)) == {figures.pk, upload.pk, recent.pk}
    long_ago = timezone.now() - timedelta(days=2)
    Job.objects.filter(pk__in=[figures.pk, upload.pk]).update(updated_at=long_ago)
    assert Job.objects.fail_abandoned(before=timezone.now() - timedelta(days=1)) == 2
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {
        figures.pk: JobStatus.FAILED,
        upload.pk: JobStatus.FAILED,
        recent.pk: JobStatus.QUEUED,
    }
    assert ImportJob.objects.get(pk=upload.pk).message == "abandoned"


def test_progress_goes_to_the_row_and_the_cache_once_per_percent(institution_a, monkeypatch):
    job = engine.create_job(YEAR, reason=JobReason.API)
    FigureJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    published = []
    monkeypatch.setattr(jobs, "publish_progress", lambda job_id, f: published.append(f))
    write = jobs.progress_writer(job.pk)
    for fraction in (0.101, 0.102, 0.5, 0.509, 1.0):
        write(fraction)
    assert published == [0.101, 0.5, 1.0]
    assert FigureJob.objects.get(pk=job.pk).progress == 100
