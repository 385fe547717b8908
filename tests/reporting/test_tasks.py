"""The jobs around the computation: recomputation after changes (debounced, one message per
burst), tolerance of a broker that is down, retries after a lost database connection,
redelivery after a dead worker, the nightly run, the management command and the demo."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from incidents.signals import incidents_changed
from reporting import engine, tasks
from reporting.choices import FigureSetStatus, JobStatus
from reporting.engine import compute, jobs, staleness
from reporting.models import FigureJob, FigureSet, FigureYear, InstitutionRate, SafetyScore
from reporting.signals import figure_inputs_changed

from .conftest import YEAR

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Messages the recomputation would send to the broker, captured instead of sent."""
    messages = []

    def capture(*args, **kwargs):
        messages.append(kwargs)

    monkeypatch.setattr(tasks.recompute_stale_year, "apply_async", capture)
    return messages


@pytest.fixture
def broker_down(monkeypatch):
    def down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.recompute_stale_year, "apply_async", down)


def _year() -> FigureYear:
    return FigureYear.objects.get(school_year=YEAR)


def _total(institution) -> int:
    return InstitutionRate.objects.get(
        figure_set__status=FigureSetStatus.CURRENT,
        school_year=YEAR,
        institution=institution,
        group="total",
        victim_role="all",
    ).count


# --- Debounce -----------------------------------------------------------------------------------


def test_a_burst_of_changes_sends_one_delayed_message(sector, sent, settings):
    settings.MIV_FIGURES_DEBOUNCE_SECONDS = 45
    for _ in range(5):
        incidents_changed.send(sender=None, school_years={YEAR})
    assert [(m["args"], m["countdown"]) for m in sent] == [([YEAR], 45)]
    year = _year()
    assert year.change_seq == 5 and year.stale and year.scheduled_for is not None


def test_a_change_after_the_due_time_sends_a_new_message(sector, sent):
    incidents_changed.send(sender=None, school_years={YEAR})
    FigureYear.objects.update(scheduled_for=timezone.now() - timedelta(seconds=1))
    incidents_changed.send(sender=None, school_years={YEAR})
    assert len(sent) == 2


def test_debounce_decision_waits_for_quiet_then_computes_then_skips(sector, settings):
    settings.MIV_FIGURES_DEBOUNCE_SECONDS = 60
    staleness.mark_stale([YEAR])
    changed = _year().changed_at
    during = staleness.debounce_decision(YEAR, now=changed + timedelta(seconds=10))
    assert during.action == "wait" and during.delay == pytest.approx(50)
    assert (
        staleness.debounce_decision(YEAR, now=changed + timedelta(seconds=61)).action == "compute"
    )
    engine.compute_school_year(YEAR)
    assert staleness.debounce_decision(YEAR).action == "skip"


def test_a_year_that_never_stops_changing_is_computed_after_the_maximum_wait(sector, settings):
    settings.MIV_FIGURES_DEBOUNCE_SECONDS = 60
    settings.MIV_FIGURES_MAX_WAIT_SECONDS = 600
    staleness.mark_stale([YEAR])
    now = timezone.now()
    FigureYear.objects.update(stale_since=now - timedelta(seconds=601), changed_at=now)
    assert staleness.debounce_decision(YEAR, now=now).action == "compute"


def test_the_debounced_task_reschedules_itself_while_changes_go_on(sector, sent):
    staleness.mark_stale([YEAR])
    # Called as a worker would (not eagerly), right after a change: it waits.
    assert tasks.recompute_stale_year.run(YEAR) == "wait"
    assert len(sent) == 1 and 0 < sent[0]["countdown"] <= 60
    assert not FigureSet.objects.exists()


def test_the_debounced_task_computes_once_quiet_and_then_skips(sector, sent):
    staleness.mark_stale([YEAR])
    FigureYear.objects.update(changed_at=timezone.now() - timedelta(hours=1))
    assert tasks.recompute_stale_year.run(YEAR) == "compute"
    assert _total(sector["a"]) == 17
    job = FigureJob.objects.get()
    assert (job.reason, job.status) == ("change", JobStatus.DONE)
    assert tasks.recompute_stale_year.run(YEAR) == "skip"
    assert FigureSet.objects.filter(status=FigureSetStatus.CURRENT).count() == 1
    assert _year().scheduled_for is None


def test_registration_recomputes_the_figures(
    client_for, registrar_a, location_a, sector, django_capture_on_commit_callbacks
):
    engine.compute_school_year(YEAR)
    assert _total(sector["a"]) == 17
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(registrar_a).post(
            "/api/v1/incidents/",
            {
                "location": location_a.pk,
                "incident_type": "MIS.FYS.06",
                "occurred_on": "2023-03-15",
                "victim_role": "student",
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    # Eager Celery: the debounced recomputation ran at once.
    assert _total(sector["a"]) == 18
    assert not _year().stale


def test_registration_succeeds_when_the_broker_is_down(
    client_for,
    registrar_a,
    location_a,
    sector,
    broker_down,
    caplog,
    django_capture_on_commit_callbacks,
):
    engine.compute_school_year(YEAR)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(registrar_a).post(
            "/api/v1/incidents/",
            {
                "location": location_a.pk,
                "incident_type": "MIS.FYS.06",
                "occurred_on": "2023-03-15",
                "victim_role": "student",
            },
            format="json",
        )
    assert response.status_code == 201
    year = _year()
    assert year.stale and year.scheduled_for is None  # the next change may try again
    assert "the recomputation of 2022-2023; it stays stale" in caplog.text
    assert _total(sector["a"]) == 17
    # The nightly run catches up.
    tasks.compute_all_figures.apply()
    assert _total(sector["a"]) == 18
    assert not _year().stale


def test_a_failing_stale_mark_never_breaks_the_caller(sector, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise OperationalError("database is gone")

    monkeypatch.setattr(staleness, "mark_stale", broken)
    incidents_changed.send(sender=None, school_years={YEAR})
    assert "could not mark figures stale" in caplog.text


def test_new_scores_make_their_school_year_and_later_ones_stale(sector, sent):
    FigureYear.objects.create(school_year="2021-2022")
    figure_inputs_changed.send(sender=SafetyScore, school_years={"2022-2023"})
    stale = set(FigureYear.objects.filter(change_seq__gt=0).values_list("school_year", flat=True))
    assert {"2022-2023", "2023-2024"} <= stale and "2021-2022" not in stale


def test_all_years_stale_when_inputs_of_every_year_changed(sector, sent):
    figure_inputs_changed.send(sender=None, school_years=None)
    stale = set(FigureYear.objects.filter(change_seq__gt=0).values_list("school_year", flat=True))
    assert stale == {"2022-2023", "2023-2024"}
    assert len(sent) == 2


# --- Retries, redelivery, failure ---------------------------------------------------------------


@pytest.fixture
def retries_run_eagerly():
    """Eager tasks that propagate errors stop at the first Retry; a worker does not."""
    from miv.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def test_a_lost_database_connection_is_retried(sector, monkeypatch, retries_run_eagerly):
    real = engine.compute_school_year
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(compute, "compute_school_year", flaky)
    job = engine.create_job(YEAR, reason="api")
    tasks.compute_figures.apply(kwargs={"school_year": YEAR, "job_id": str(job.pk)})
    job.refresh_from_db()
    assert (job.status, job.attempts, job.retried, job.error) == (JobStatus.DONE, 2, True, "")
    assert _total(sector["a"]) == 17


def test_a_job_is_failed_after_the_last_retry(sector, monkeypatch, retries_run_eagerly):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(compute, "compute_school_year", down)
    job = engine.create_job(YEAR, reason="api")
    result = tasks.compute_figures.apply(kwargs={"school_year": YEAR, "job_id": str(job.pk)})
    assert result.state == "FAILURE"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.attempts == 1 + tasks.RETRY_OPTIONS["max_retries"]
    assert "could not connect" in job.error


def test_redelivery_after_a_dead_worker_reruns_the_job_once(sector):
    engine.compute_school_year(YEAR)
    undisturbed = sorted(
        InstitutionRate.objects.filter(figure_set__status=FigureSetStatus.CURRENT).values_list(
            "institution_id", "group", "victim_role", "count", "rate"
        )
    )
    job = engine.create_job(YEAR, reason="api")
    # The first delivery started, wrote half a set and the worker was killed.
    engine.start_job(job.pk)
    FigureSet.objects.create(school_year=YEAR, job=job)
    FigureSet.objects.filter(status=FigureSetStatus.BUILDING).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    tasks.compute_figures.apply(kwargs={"school_year": YEAR, "job_id": str(job.pk)})
    job.refresh_from_db()
    assert (job.status, job.attempts, job.retried) == (JobStatus.DONE, 2, True)
    assert not FigureSet.objects.filter(status=FigureSetStatus.BUILDING).exists()
    rerun = sorted(
        InstitutionRate.objects.filter(figure_set__status=FigureSetStatus.CURRENT).values_list(
            "institution_id", "group", "victim_role", "count", "rate"
        )
    )
    assert rerun == undisturbed
    # A message delivered again after completion does nothing.
    assert (
        tasks.compute_figures.apply(kwargs={"school_year": YEAR, "job_id": str(job.pk)}).result
        is None
    )
    job.refresh_from_db()
    assert job.attempts == 2


def test_a_non_database_error_fails_the_job_without_retrying(sector, monkeypatch):
    def boom(*args, **kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(compute, "compute_school_year", boom)
    job = engine.create_job(YEAR, reason="api")
    with pytest.raises(ZeroDivisionError):
        tasks.compute_figures.apply(kwargs={"school_year": YEAR, "job_id": str(job.pk)})
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)


def test_abandoned_jobs_are_marked_failed(db, settings):
    settings.CELERY_TASK_TIME_LIMIT = 60
    job = engine.create_job(YEAR, reason="api")
    FigureJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, updated_at=timezone.now() - timedelta(minutes=5)
    )
    assert jobs.fail_abandoned_jobs() == 1
    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "abandoned")


# --- Nightly, command, demo ---------------------------------------------------------------------


def test_nightly_run_computes_stale_and_never_computed_years(sector, monkeypatch):
    monkeypatch.setattr(staleness, "school_year_of", lambda day: "2023-2024")
    years = tasks.compute_all_figures.apply().result
    assert years == ["2022-2023", "2023-2024"]
    assert set(
        FigureSet.objects.filter(status=FigureSetStatus.CURRENT).values_list(
            "school_year", flat=True
        )
    ) == {"2022-2023", "2023-2024"}
    assert set(FigureJob.objects.values_list("reason", "status")) == {("nightly", "done")}


def test_compute_figures_command(sector, capsys):
    call_command("compute_figures", school_years=[YEAR])
    out = capsys.readouterr().out
    assert "2022-2023: 60 incidents, 3 institutions with rates, 1 without a student count" in out
    call_command("compute_figures")
    out = capsys.readouterr().out
    assert "2022-2023" in out and "2023-2024" in out
    assert FigureJob.objects.filter(reason="command", status="done").count() == 3


def test_compute_figures_command_rejects_a_bad_year(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("compute_figures", school_years=["2022"])


def test_seed_demo_computes_the_demo_figures(db):
    from demo.seed import seed_demo

    result = seed_demo(today=date(2023, 11, 1))
    # Each year once: the seed's many changes wait for the end (one publication audit each).
    per_year = Counter(FigureSet.objects.values_list("school_year", flat=True))
    assert per_year == dict.fromkeys(result["school_years"], 1)
    current = set(
        FigureSet.objects.filter(status=FigureSetStatus.CURRENT).values_list(
            "school_year", flat=True
        )
    )
    assert current == set(result["school_years"])
    totals = FigureSet.objects.filter(status=FigureSetStatus.CURRENT).values_list(
        "incidents_counted", flat=True
    )
    assert sum(totals) > 1000
