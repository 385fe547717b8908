"""Figures jobs per requester (issue 7, object-level authorization): a coordinator follows
the jobs of their own institution and the system's, never another institution's, and a
request never joins a job its requester could not follow."""

import pytest

from incidents.choices import Role
from reporting import engine
from reporting.choices import JobReason, JobStatus
from reporting.models import FigureJob
from tests.factories import MembershipFactory, UserFactory

from .conftest import YEAR

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/figures/jobs/"


@pytest.fixture
def colleague_a(institution_a):
    return MembershipFactory(
        user=UserFactory(username="colleague_a"), institution=institution_a, role=Role.COORDINATOR
    ).user


def running_job(requested_by=None, reason=JobReason.API) -> FigureJob:
    job = engine.create_job(YEAR, reason=reason, requested_by=requested_by)
    FigureJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    return job


def test_a_job_is_followed_by_its_institutions_coordinators_only(
    client_for, coordinator_a, colleague_a, coordinator_b, administrator
):
    job = running_job(requested_by=coordinator_a)
    url = f"{JOBS}{job.pk}/"
    assert client_for(coordinator_a).get(url).status_code == 200
    assert client_for(colleague_a).get(url).status_code == 200
    assert client_for(administrator).get(url).status_code == 200
    response = client_for(coordinator_b).get(url)
    assert response.status_code == 404
    assert str(job.pk) not in response.content.decode()


def test_the_systems_own_jobs_are_followed_by_every_coordinator(client_for, coordinator_b):
    job = running_job(reason=JobReason.NIGHTLY)
    assert client_for(coordinator_b).get(f"{JOBS}{job.pk}/").status_code == 200


def test_a_request_joins_only_a_job_its_requester_may_follow(
    client_for, sector, coordinator_a, colleague_a, coordinator_b
):
    theirs = running_job(requested_by=coordinator_a)
    # A colleague joins the running job of the own institution ...
    joined = client_for(colleague_a).post(JOBS, {"school_year": YEAR}, format="json")
    assert joined.status_code == 202 and joined.json()["id"] == str(theirs.pk)
    # ... another institution's coordinator gets a job of its own, and can follow it.
    own = client_for(coordinator_b).post(JOBS, {"school_year": YEAR}, format="json")
    assert own.status_code == 202 and own.json()["id"] != str(theirs.pk)
    assert client_for(coordinator_b).get(own.json()["url"]).status_code == 200
    assert FigureJob.objects.get(pk=own.json()["id"]).requested_by == coordinator_b
