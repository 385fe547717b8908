"""The authorization matrix of issue 7: EVERY URL pattern of the project, for anonymous,
registrar A, coordinator A, registrar B, coordinator B and the researcher, against the
objects of institution A and of institution B, with the exact status code.

How it works:

* ``CASES`` lists requests. Each has the expected status per *perspective* ("own" is the
  user's institution, "other" the other one; see ``perspective``). A case marked
  ``targeted`` runs against A's objects and against B's; the others run once.
* ``test_every_url_pattern_has_a_case`` walks ``get_resolver()`` and fails for a URL pattern
  (or a method a DRF view or ``require_http_methods`` declares) that no case reaches. So a
  new endpoint without an entry here fails the suite: add a ``Case`` to ``CASES`` (or to
  ``NEW_CASES`` in the section of its feature). The admin is covered by generated cases.
* ``test_matrix`` runs each case as each user and checks, besides the status: a refused
  request changed nothing; an anonymous user is sent to the login page; and no response
  leaks a *canary* of what the user may not see (the other institution's names, texts,
  import errors and labels; a colleague's registration for a registrar; any incident text
  for the researcher; anything for anonymous users). That check covers every page's filter
  choices and every export without listing them.

The world is built once per module (rolled back at the end); each test runs in its own
savepoint, so a request that writes is undone before the next one.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts import members, tokens
from accounts.models import ApiTokenInfo, AuditEvent, Invitation
from incidents.choices import ImportKind, ImportStatus, Role
from incidents.filtersets import IncidentFilterSet
from incidents.models import (
    IdempotencyRecord,
    ImportJob,
    Incident,
    IncidentEvent,
    Institution,
    LabelMapping,
    Location,
    Membership,
)
from questionnaire import services as questionnaire_services
from questionnaire.models import Answer, OpenAnswer, QuestionnaireResponse, QuestionnaireVersion
from questionnaire.models import ResponseEvent as QuestionnaireEvent
from reporting import engine as figures
from reporting.choices import JobReason, JobStatus
from reporting.models import FigureJob, StudentCount, UnusableYear
from taxonomy.models import IncidentType
from tests.factories import IncidentFactory, InstitutionFactory, LocationFactory
from tests.incidents.test_permissions import (
    API_CASES,
    PAGE_CASES,
    expect,
    perspective,
)
from tests.services import summary

# Every test here uses the module's world: one group for pytest-django's ordering, so they
# run together, before any transactional test flushes the database.
pytestmark = pytest.mark.django_db

USERS = ["anonymous", "registrar_a", "coordinator_a", "registrar_b", "coordinator_b", "researcher"]
TARGETS = ["a", "b"]
YEAR = "2022-2023"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"

Objects = dict


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[Objects], str]
    expected: dict[str, int]
    body: Callable[[Objects], dict] | None = None
    # The API client (JSON bodies, token-style authentication) or the browser (forms).
    api: bool = False
    # The URL or body names one institution's object: run against A's and against B's.
    targeted: bool = True
    # Perspectives whose request may change stored data; None: a non-GET that succeeds.
    writes: frozenset[str] | None = None
    headers: dict = field(default_factory=dict)
    # Where an anonymous 302 must lead (None: anywhere, e.g. the language switch).
    anonymous_to: str | None = LOGIN

    def may_write(self, who: str) -> bool:
        if self.writes is not None:
            return who in self.writes
        return self.method != "get" and self.expected[who] < 400 and who != "anonymous"


def same_for_all(status: int) -> dict[str, int]:
    return expect(status, status, status, status, status, status)


# --- The cases -----------------------------------------------------------------------------

# Registration (issue 3): the permission matrix of tests/incidents/test_permissions.py ...
LEGACY = [Case(n, m, u, e, b, api=True) for n, m, u, b, e in API_CASES] + [
    Case(n, m, u, e, b) for n, m, u, b, e in PAGE_CASES
]
# ... and the same API endpoints with a format suffix (``/incidents/5.json``): the router
# adds those routes, and they must be scoped the same way.
SUFFIXED = [
    replace(case, name=case.name + ".json", url=lambda o, u=case.url: u(o)[:-1] + ".json")
    for case in LEGACY
    if case.api
]

MISC = [
    Case("home", "get", lambda o: "/", same_for_all(200), targeted=False),
    Case("healthz", "get", lambda o: "/healthz", same_for_all(200), targeted=False),
    Case("favicon", "get", lambda o: "/favicon.ico", same_for_all(301), targeted=False),
    Case(
        "set-language",
        "post",
        lambda o: "/i18n/setlang/",
        same_for_all(302),
        body=lambda o: {"language": "en", "next": "/"},
        targeted=False,
        anonymous_to=None,
    ),
    Case("login", "get", lambda o: LOGIN, same_for_all(200), targeted=False),
    Case(
        "login-wrong-password",
        "post",
        lambda o: LOGIN,
        same_for_all(200),
        body=lambda o: {"username": "matrix_coordinator_a", "password": "wrong"},
        targeted=False,
    ),
    Case(
        "logout",
        "post",
        lambda o: "/accounts/logout/",
        same_for_all(302),
        targeted=False,
        anonymous_to=None,
    ),
    Case("logout-get", "get", lambda o: "/accounts/logout/", same_for_all(405), targeted=False),
    # Public by design: the taxonomy and the API description hold no institution data.
    Case("taxonomy", "get", lambda o: "/api/v1/taxonomy/", same_for_all(200), api=True,
         targeted=False),
    Case("schema", "get", lambda o: "/api/schema/", same_for_all(200), targeted=False),
    Case("api-docs", "get", lambda o: "/api/docs/", same_for_all(200), targeted=False),
    # The offline queue (issue 13): who is logged in and a CSRF token, as JSON (401, not a
    # redirect, when the session lapsed); the service worker's script holds no data.
    Case("registration-session", "get", lambda o: "/incidents/register/session/",
         expect(401, 200, 200, 200, 200, 403), targeted=False, anonymous_to=None),
    Case("service-worker", "get", lambda o: "/incidents/register/sw.js", same_for_all(200),
         targeted=False, anonymous_to=None),
]  # fmt: skip

Q = f"?school_year={YEAR}"
FIGURES = [
    Case("figures-rates", "get", lambda o: f"/api/v1/figures/rates/{Q}",
         expect(401, 403, 200, 403, 200, 200), api=True, targeted=False),
    # Naming another institution is refused like an unknown one (researchers without named
    # access name institutions by pseudonym, so a BRIN is unknown to them too).
    Case("figures-rates-institution", "get",
         lambda o: f"/api/v1/figures/rates/{Q}&institution={o['institution'].brin}",
         expect(401, 403, 200, 403, 400, 400), api=True),
    Case("figures-rates-pseudonym", "get",
         lambda o: f"/api/v1/figures/rates/{Q}&institution={o['institution'].pseudonym}",
         expect(401, 403, 400, 403, 400, 200), api=True),
    Case("figures-sector", "get", lambda o: f"/api/v1/figures/sector/{Q}",
         expect(401, 403, 200, 403, 200, 200), api=True, targeted=False),
    Case("figures-correlation", "get", lambda o: f"/api/v1/figures/correlation/{Q}&score=job",
         expect(401, 403, 200, 403, 200, 200), api=True, targeted=False),
    Case("figures-job-create", "post", lambda o: "/api/v1/figures/jobs/",
         expect(401, 403, 202, 403, 202, 403), body=lambda o: {"school_year": YEAR}, api=True,
         targeted=False),
    Case("figures-jobs-get", "get", lambda o: "/api/v1/figures/jobs/",
         expect(401, 403, 405, 403, 405, 403), api=True, targeted=False),
    # A job is followed by the coordinators of the requester's institution only.
    Case("figures-job-detail", "get", lambda o: f"/api/v1/figures/jobs/{o['figure_job'].pk}/",
         expect(401, 403, 200, 403, 404, 403), api=True),
]  # fmt: skip


def _upload(o: Objects) -> dict:
    content = (
        b"location,occurred_on,incident_type,victim_role\r\nA-HQ,2023-03-14,MIS.FYS.06,student\r\n"
    )
    return {
        "kind": ImportKind.INCIDENTS,
        "institution": o["institution"].pk,
        "file": SimpleUploadedFile("matrix.csv", content, content_type="text/csv"),
    }


def _mapping_change(o: Objects) -> dict:
    return {
        "map-TOTAL_FORMS": "1",
        "map-INITIAL_FORMS": "1",
        "map-MIN_NUM_FORMS": "0",
        "map-MAX_NUM_FORMS": "2000",
        "map-0-id": str(o["mapping"].pk),
        "map-0-source_label": "Overgenomen label",
        "map-0-incident_type": str(IncidentType.objects.get(code="MIS.FYS.06").pk),
    }


IMPORTER = expect(302, 403, 200, 403, 200, 403)
OWN_JOB = expect(302, 403, 200, 403, 404, 403)
OWN_JOB_ACTION = expect(302, 403, 302, 403, 404, 403)
IMPORTS = [
    Case("import-list", "get", lambda o: "/incidents/imports/", IMPORTER, targeted=False),
    Case("import-new", "get", lambda o: "/incidents/imports/new/", IMPORTER, targeted=False),
    # Another institution is no choice in the form: it is shown again with an error.
    Case("import-new-post", "post", lambda o: "/incidents/imports/new/",
         expect(302, 403, 302, 403, 200, 403), body=_upload,
         writes=frozenset({"coordinator_own"})),
    Case("import-detail", "get", lambda o: f"/incidents/imports/{o['import_job'].pk}/", OWN_JOB),
    Case("import-progress", "get", lambda o: f"/incidents/imports/{o['import_job'].pk}/progress/",
         OWN_JOB_ACTION),
    Case("import-progress-htmx", "get",
         lambda o: f"/incidents/imports/{o['import_job'].pk}/progress/", OWN_JOB,
         headers={"HTTP_HX_REQUEST": "true"}),
    Case("import-errors", "get", lambda o: f"/incidents/imports/{o['import_job'].pk}/errors.csv",
         OWN_JOB),
    Case("import-confirm", "post", lambda o: f"/incidents/imports/{o['import_job'].pk}/confirm/",
         OWN_JOB_ACTION),
    Case("import-revalidate", "post",
         lambda o: f"/incidents/imports/{o['import_job'].pk}/revalidate/", OWN_JOB_ACTION),
    Case("import-cancel", "post", lambda o: f"/incidents/imports/{o['import_job'].pk}/cancel/",
         OWN_JOB_ACTION),
    # Methods are checked before the login: a GET is refused for everyone alike.
    Case("import-cancel-get", "get",
         lambda o: f"/incidents/imports/{o['import_job'].pk}/cancel/", same_for_all(405)),
    Case("mapping-index", "get", lambda o: "/incidents/imports/mapping/",
         expect(302, 403, 302, 403, 302, 403), targeted=False),
    Case("mapping-edit", "get", lambda o: f"/incidents/imports/mapping/{o['institution'].brin}/",
         OWN_JOB),
    Case("mapping-edit-post", "post",
         lambda o: f"/incidents/imports/mapping/{o['institution'].brin}/", OWN_JOB_ACTION,
         body=_mapping_change),
    Case("mapping-download", "get",
         lambda o: f"/incidents/imports/mapping/{o['institution'].brin}/download.csv", OWN_JOB),
]  # fmt: skip

PRIVACY = [
    Case("privacy", "get", lambda o: "/incidents/privacy/", IMPORTER, targeted=False),
    # The other coordinator searches for part of the target's text and finds nothing: the
    # canary check sees the whole text if it is shown (the page echoes only the term).
    Case("privacy-search", "post", lambda o: "/incidents/privacy/", IMPORTER,
         body=lambda o: {"term": o["canaries"]["description"].removeprefix("Kanarie")}),
    Case("privacy-export", "post", lambda o: "/incidents/privacy/export/", OWN_JOB,
         body=lambda o: {"incident": [o["incident"].pk], "format": "json"}),
    Case("privacy-export-csv", "post", lambda o: "/incidents/privacy/export/", OWN_JOB,
         body=lambda o: {"incident": [o["incident"].pk], "format": "csv"}),
    Case("privacy-export-get", "get", lambda o: "/incidents/privacy/export/",
         expect(302, 403, 405, 403, 405, 403), targeted=False),
    Case("privacy-erase", "post", lambda o: "/incidents/privacy/erase/", OWN_JOB,
         body=lambda o: {"incident": [o["incident"].pk]}, writes=frozenset()),
    Case("privacy-erase-confirm", "post", lambda o: "/incidents/privacy/erase/", OWN_JOB_ACTION,
         body=lambda o: {"incident": [o["incident"].pk], "confirm": "on"}),
]  # fmt: skip

# Issue 6 (exports, research API, dashboards): add its endpoints here.
READERS = expect(302, 403, 200, 403, 200, 200)  # dashboards: coordinators and researchers
EXPORTER = expect(302, 403, 200, 403, 200, 403)  # exports: coordinators (and administrators)
FIG = f"?school_year={YEAR}&group=total&victim_role=all"
NEW_CASES: list[Case] = [
    # Researchers (and administrators) only; token authentication (force_authenticate here).
    Case("research-rates", "get", lambda o: f"/api/v1/research/rates/{Q}",
         expect(401, 403, 403, 403, 403, 200), api=True, targeted=False),
    Case("research-rates-csv", "get", lambda o: f"/api/v1/research/rates/{Q}&format=csv",
         expect(401, 403, 403, 403, 403, 200), api=True, targeted=False),
    Case("research-rates-csv-file", "get", lambda o: f"/api/v1/research/rates.csv{Q}",
         expect(401, 403, 403, 403, 403, 200), api=True, targeted=False),
    # The incident list's exports: the list's scope and filters (another institution's
    # location is an invalid filter choice: 400, nothing exported).
    Case("incidents-export-csv", "get", lambda o: "/incidents/export.csv", EXPORTER,
         targeted=False),
    Case("incidents-export-xlsx", "get", lambda o: "/incidents/export.xlsx", EXPORTER,
         targeted=False),
    Case("incidents-export-csv-location", "get",
         lambda o: f"/incidents/export.csv?location={o['location'].pk}",
         expect(302, 403, 200, 403, 400, 403)),
    # Dashboards: every figure reader; a coordinator sees other institutions unnamed.
    Case("figures-dashboard", "get", lambda o: f"/figures/{FIG}", READERS, targeted=False),
    # An htmx request without a session: 401 with HX-Redirect to the login page.
    Case("figures-dashboard-htmx", "get", lambda o: f"/figures/{FIG}",
         expect(401, 403, 200, 403, 200, 200), targeted=False,
         headers={"HTTP_HX_REQUEST": "true"}),
    Case("figures-chart", "get", lambda o: f"/figures/chart/5.3.svg{FIG}", READERS,
         targeted=False),
    Case("figures-data", "get", lambda o: f"/figures/data/5.3.csv{FIG}", READERS,
         targeted=False),
    # The yearly export: coordinators of the institution named, administrators.
    Case("figures-export", "get", lambda o: "/figures/export/", EXPORTER, targeted=False),
    Case("figures-export-download", "get",
         lambda o: f"/figures/export/download/?institution={o['institution'].brin}"
                   f"&school_year={YEAR}&format=xlsx",
         expect(302, 403, 200, 403, 403, 403)),
    Case("figures-export-delivery-csv", "get",
         lambda o: f"/figures/export/download/?institution={o['institution'].brin}"
                   f"&school_year={YEAR}&table=delivery",
         expect(302, 403, 200, 403, 403, 403)),
]  # fmt: skip

# Issue 15 (the questionnaire): an institution's answers, open texts above all, are read by
# its coordinators (and administrators) only; registrars and researchers get 403, the other
# institution's coordinator 404. ``QYEAR`` can be started; ``YEAR`` has a draft with canaries.
QYEAR = questionnaire_services.answerable_school_years()[0]
QOWN = expect(302, 403, 200, 403, 404, 403)
QOWN_ACTION = expect(302, 403, 302, 403, 404, 403)
QAPI = expect(401, 403, 200, 403, 404, 403)


def _qurl(o: Objects, tail: str = "", year: str = YEAR) -> str:
    return f"/questionnaire/{o['institution'].brin}/{year}/{tail}"


def _qapi(o: Objects, tail: str = "") -> str:
    return f"/api/v1/questionnaire/responses/{o['institution'].brin}/{YEAR}/{tail}"


QUESTIONNAIRE = [
    Case("questionnaire-overview", "get", lambda o: "/questionnaire/",
         expect(302, 403, 200, 403, 200, 403), targeted=False),
    # The sector's answers (figures 5.4-5.9): every figure reader; the API for researchers.
    Case("questionnaire-sector", "get", lambda o: "/questionnaire/sector/", READERS,
         targeted=False),
    # (The world's responses are drafts, so nothing is published: 404 for the researcher;
    # tests/questionnaire/test_sector.py checks the answers and that open texts never leak.)
    Case("research-policy", "get", lambda o: "/api/v1/research/policy/",
         expect(401, 403, 403, 403, 403, 404), api=True, targeted=False),
    Case("questionnaire-summary", "get", lambda o: _qurl(o), QOWN),
    Case("questionnaire-start", "post", lambda o: _qurl(o, "start/", QYEAR), QOWN_ACTION),
    Case("questionnaire-section", "get", lambda o: _qurl(o, "section/2/"), QOWN),
    Case("questionnaire-section-post", "post", lambda o: _qurl(o, "section/1/"), QOWN_ACTION,
         body=lambda o: {"q-V1": "board", "_action": "save"}),
    # Incomplete: shown again with what is missing, nothing changes.
    Case("questionnaire-submit", "post", lambda o: _qurl(o, "submit/"),
         expect(302, 403, 400, 403, 404, 403)),
    # Reopening is for administrators (nobody in the matrix is one).
    Case("questionnaire-reopen", "get", lambda o: _qurl(o, "reopen/"),
         expect(302, 403, 403, 403, 404, 403)),
    Case("questionnaire-reopen-post", "post", lambda o: _qurl(o, "reopen/"),
         expect(302, 403, 403, 403, 404, 403), body=lambda o: {"reason": "matrix"}),
    Case("questionnaire-download-csv", "get", lambda o: _qurl(o, "answers.csv"), QOWN),
    Case("questionnaire-download-xlsx", "get", lambda o: _qurl(o, "answers.xlsx"), QOWN),
    # The questionnaire itself holds no institution data: every role reads it.
    Case("questionnaire-api-versions", "get", lambda o: "/api/v1/questionnaire/versions/",
         expect(401, 200, 200, 200, 200, 200), api=True, targeted=False),
    Case("questionnaire-api-list", "get", lambda o: "/api/v1/questionnaire/responses/",
         expect(401, 403, 200, 403, 200, 403), api=True, targeted=False),
    # Another institution is no choice: 400 naming the field.
    Case("questionnaire-api-start", "post", lambda o: "/api/v1/questionnaire/responses/",
         expect(401, 403, 201, 403, 400, 403), api=True,
         body=lambda o: {"institution": o["institution"].brin, "school_year": QYEAR}),
    Case("questionnaire-api-detail", "get", lambda o: _qapi(o), QAPI, api=True),
    Case("questionnaire-api-patch", "patch", lambda o: _qapi(o), QAPI, api=True,
         body=lambda o: {"answers": {"V1": {"choice": "board"}}}),
    Case("questionnaire-api-submit", "post", lambda o: _qapi(o, "submit/"),
         expect(401, 403, 400, 403, 404, 403), api=True),
    Case("questionnaire-api-reopen", "post", lambda o: _qapi(o, "reopen/"),
         expect(401, 403, 403, 403, 404, 403), api=True, body=lambda o: {"reason": "matrix"}),
]  # fmt: skip

# Issue 14: locations and people of an institution (coordinators: their own, 404 elsewhere),
# researchers (administrators), invitations, API tokens, sign-in with the institution account.
MANAGER = expect(302, 403, 200, 403, 404, 403)
MANAGER_ACTION = expect(302, 403, 302, 403, 404, 403)
NOBODY_HERE = expect(302, 403, 403, 403, 403, 403)  # administrators only
ANY_ROLE = expect(302, 200, 200, 200, 200, 200)
INST = "/accounts/institutions/"
LOC = lambda o: f"{INST}{o['institution'].brin}/locations/{o['location'].pk}/"  # noqa: E731
MEMBER = lambda o: f"/accounts/members/{o['registrar_membership'].pk}/"  # noqa: E731
INVITATION = lambda o: f"/accounts/invitations/{o['invitation'].pk}/"  # noqa: E731
ACCOUNTS = [
    Case("accounts-index", "get", lambda o: INST, expect(302, 403, 302, 403, 302, 403),
         targeted=False),
    Case("locations", "get", lambda o: f"{INST}{o['institution'].brin}/locations/", MANAGER),
    Case("location-create", "post", lambda o: f"{INST}{o['institution'].brin}/locations/",
         MANAGER_ACTION, body=lambda o: {"code": "NIEUW", "name": "Nieuwe vestiging"}),
    Case("location-edit", "get", LOC, MANAGER),
    Case("location-edit-post", "post", LOC, MANAGER_ACTION,
         body=lambda o: {"name": "Hernoemd", "municipality": "Ede"}),
    Case("location-deactivate", "post", lambda o: LOC(o) + "deactivate/", MANAGER_ACTION),
    Case("location-activate", "post", lambda o: LOC(o) + "activate/", MANAGER_ACTION),
    # It has incidents: refused with a message, nothing deleted.
    Case("location-delete", "post", lambda o: LOC(o) + "delete/", MANAGER_ACTION,
         writes=frozenset()),
    Case("members", "get", lambda o: f"{INST}{o['institution'].brin}/members/", MANAGER),
    Case("invite", "get", lambda o: f"{INST}{o['institution'].brin}/invite/", MANAGER),
    Case("invite-post", "post", lambda o: f"{INST}{o['institution'].brin}/invite/",
         MANAGER_ACTION, body=lambda o: {"email": "nieuw@matrix.example.nl", "role": "registrar"}),
    Case("member-edit", "get", MEMBER, MANAGER),
    Case("member-edit-post", "post", MEMBER, MANAGER_ACTION,
         body=lambda o: {"role": "coordinator"}),
    Case("member-deactivate", "post", lambda o: MEMBER(o) + "deactivate/", MANAGER_ACTION),
    Case("member-activate", "post", lambda o: MEMBER(o) + "activate/", MANAGER_ACTION),
    Case("invitation-resend", "post", lambda o: INVITATION(o) + "resend/", MANAGER_ACTION),
    Case("invitation-revoke", "post", lambda o: INVITATION(o) + "revoke/", MANAGER_ACTION),
    Case("researchers", "get", lambda o: "/accounts/researchers/", NOBODY_HERE, targeted=False),
    Case("researchers-invite", "post", lambda o: "/accounts/researchers/", NOBODY_HERE,
         body=lambda o: {"email": "r@matrix.example.nl"}, targeted=False),
    # The invitee's side: the link is the credential (anyone holding it), stored in the
    # session and taken to the accept page; a wrong or spent link is 410 for everyone.
    Case("invitation-link", "get", lambda o: f"/accounts/invitation/{o['invitation_secret']}/",
         same_for_all(302), anonymous_to="/accounts/invitation/accept/"),
    Case("invitation-link-wrong", "get", lambda o: "/accounts/invitation/niet-geldig/",
         same_for_all(410), targeted=False),
    Case("invitation-accept", "get", lambda o: "/accounts/invitation/accept/", same_for_all(410),
         targeted=False),
    Case("invitation-accept-post", "post", lambda o: "/accounts/invitation/accept/",
         same_for_all(410), targeted=False),
    # Own tokens only: another user's token is not found.
    Case("tokens", "get", lambda o: "/accounts/tokens/", ANY_ROLE, targeted=False),
    Case("token-create", "post", lambda o: "/accounts/tokens/", ANY_ROLE,
         body=lambda o: {"name": "matrix", "days": "30"}, targeted=False),
    Case("token-revoke", "post", lambda o: "/accounts/tokens/revoke/",
         expect(302, 404, 302, 404, 404, 404), body=lambda o: {"key": o["token_key"]}),
    # Not configured in the tests: the sign-in pages are not there; the failure page is.
    Case("oidc-login", "get", lambda o: "/accounts/oidc/login/", same_for_all(404),
         targeted=False),
    Case("oidc-callback", "get", lambda o: "/accounts/oidc/callback/", same_for_all(404),
         targeted=False),
    Case("oidc-failed", "get", lambda o: "/accounts/oidc/failed/", same_for_all(200),
         targeted=False),
]  # fmt: skip

# Issue 12: registration quality per institution and school year, and marking a year's
# registrations not usable for the sector (coordinators: their own, 404 elsewhere;
# administrators all; registrars and researchers 403).
QUALITY_PAGE = lambda o: f"/figures/quality/{o['institution'].brin}/"  # noqa: E731
QUALITY = [
    Case("quality-index", "get", lambda o: "/figures/quality/",
         expect(302, 403, 302, 403, 302, 403), targeted=False),
    Case("quality", "get", QUALITY_PAGE, MANAGER),
    Case("quality-year", "get", lambda o: QUALITY_PAGE(o) + f"?school_year={YEAR}", MANAGER),
    Case("quality-mark-unusable", "post", lambda o: QUALITY_PAGE(o) + f"{YEAR}/unusable/",
         MANAGER_ACTION, body=lambda o: {"reason": "Alleen de hoofdvestiging registreerde."}),
    # Without a reason: the page again with the error, nothing marked.
    Case("quality-mark-unusable-empty", "post", lambda o: QUALITY_PAGE(o) + f"{YEAR}/unusable/",
         MANAGER, body=lambda o: {"reason": " "},
         writes=frozenset()),
    Case("quality-mark-usable", "post", lambda o: QUALITY_PAGE(o) + f"{YEAR}/usable/",
         MANAGER_ACTION),
    Case("quality-mark-unusable-get", "get", lambda o: QUALITY_PAGE(o) + f"{YEAR}/unusable/",
         same_for_all(405)),
]  # fmt: skip

CASES = (
    LEGACY
    + SUFFIXED
    + MISC
    + FIGURES
    + IMPORTS
    + PRIVACY
    + NEW_CASES
    + QUESTIONNAIRE
    + ACCOUNTS
    + QUALITY
)


# --- The admin: every page, generated ---------------------------------------------------------


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every URL pattern with its full route, joined as Django joins ``ResolverMatch.route``."""
    for pattern in resolver.url_patterns:
        route = str(pattern.pattern)
        route = prefix + route.removeprefix("^") if prefix else route
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, route)
        else:
            yield route, pattern


def _admin_url(route: str, pattern: URLPattern, o: Objects) -> str:
    values = {"app_label": "incidents", "object_id": str(o["incident"].pk)}
    if isinstance(pattern.pattern, RoutePattern):
        # path() routes: fill each <converter:name> in.
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m[1], "1"), route)
    if pattern.name is not None:
        names = set(pattern.pattern.regex.groupindex)
        return reverse(f"admin:{pattern.name}", kwargs={n: values.get(n, "1") for n in names})
    return "/admin/nowhere/"  # the catch-all for unknown admin URLs


def _admin_cases() -> list[Case]:
    """Nobody in the matrix is staff: every admin page sends them to the admin login (its
    own page answers 200)."""
    cases = []
    for route, pattern in _walk(get_resolver()):
        if not route.startswith("admin/"):
            continue
        login = pattern.name == "login"
        # Django's admin sends a logout by someone who is not staff to the admin index.
        anonymous_to = "/admin/" if pattern.name == "logout" else ADMIN_LOGIN
        cases.append(
            Case(
                f"admin:{pattern.name or route.removeprefix('admin/')}",
                "get",
                lambda o, r=route, p=pattern: _admin_url(r, p, o),
                same_for_all(200 if login else 302),
                targeted=False,
                anonymous_to=anonymous_to,
            )
        )
    return cases


ADMIN_CASES = _admin_cases()
ALL_CASES = CASES + ADMIN_CASES


def _params() -> list:
    params = []
    for case in ALL_CASES:
        for target in TARGETS if case.targeted else TARGETS[:1]:
            for user in USERS:
                params.append(pytest.param(case, user, target, id=f"{case.name}-{user}-{target}"))
    return params


# --- The world ---------------------------------------------------------------------------------


def _user(username: str):
    # No password: force_login needs none, and skipping Argon2 keeps the set-up fast.
    return get_user_model().objects.create(username=username)


def _canaries(label: str) -> dict[str, str]:
    """Strings only the institution's own people may see (and the texts only coordinators
    and the registrar who wrote them)."""
    return {
        "institution": f"Kanariecollege {label}",
        "location": f"Kanarielocatie {label}",
        "description": f"Kanarietekst {label}",
        "measures": f"Kanariemaatregel {label}",
        "colleague": f"Kanariecollega {label}",
        "import_error": f"Kanariefout {label}",
        "label": f"Kanarielabel {label}",
        "invitation": f"kanarie.{label.lower()}@uitnodiging.example.nl",
        "registrar": f"matrix_registrar_{label.lower()}",
        "coordinator": f"matrix_coordinator_{label.lower()}",
        "questionnaire": f"Kanarie-open-antwoord {label}",
    }


# Canaries that are texts of incidents or imports, never for a researcher or a registrar's
# colleague to see.
TEXT_CANARIES = ("description", "measures", "colleague", "import_error", "label", "questionnaire")


def _institution(brin: str, label: str) -> Objects:
    canaries = _canaries(label)
    institution = InstitutionFactory(brin=brin, name=canaries["institution"])
    location = LocationFactory(
        institution=institution, code=f"{label[0]}-HQ", name=canaries["location"]
    )
    registrar = _user(canaries["registrar"])
    coordinator = _user(canaries["coordinator"])
    Membership.objects.create(
        user=registrar, institution=institution, role=Role.REGISTRAR, default_location=location
    )
    Membership.objects.create(user=coordinator, institution=institution, role=Role.COORDINATOR)
    incident = IncidentFactory(
        location=location,
        registered_by=registrar,
        description=canaries["description"],
        measures=canaries["measures"],
    )
    # A colleague's registration: the registrar must not see it.
    IncidentFactory(location=location, registered_by=coordinator, description=canaries["colleague"])
    import_job = ImportJob.objects.create(
        kind=ImportKind.INCIDENTS,
        institution=institution,
        original_name=f"{label}.csv",
        uploaded_by=coordinator,
        status=ImportStatus.VALIDATED,
        errors=[[2, "description", canaries["import_error"]]],
        error_count=1,
        summary={"rows": 1},
    )
    mapping = LabelMapping.objects.create(
        institution=institution,
        source_label=canaries["label"],
        incident_type=IncidentType.objects.get(code="MIS.FYS.06"),
    )
    StudentCount.objects.create(institution=institution, school_year=YEAR, students=2000)
    # A draft questionnaire with a closed answer and an open one (a canary).
    response = QuestionnaireResponse.objects.create(
        institution=institution, school_year=YEAR, version=QuestionnaireVersion.current()
    )
    Answer.objects.create(response=response, question="V1", option="other")
    OpenAnswer.objects.create(response=response, question="V1", text=canaries["questionnaire"])
    invitation, invitation_secret = members.invite(
        actor=None, institution=institution, email=canaries["invitation"], role=Role.REGISTRAR
    )
    token, _secret = tokens.create_token(actor=coordinator, name="matrix", days=30)
    figure_job = figures.create_job(YEAR, reason=JobReason.API, requested_by=coordinator)
    FigureJob.objects.filter(pk=figure_job.pk).update(status=JobStatus.DONE)
    return {
        "institution": institution,
        "location": location,
        "incident": incident,
        "import_job": import_job,
        "mapping": mapping,
        "figure_job": figure_job,
        "registrar": registrar,
        "coordinator": coordinator,
        "canaries": canaries,
        "registrar_membership": Membership.objects.get(user=registrar),
        "invitation": invitation,
        "invitation_secret": invitation_secret,
        "token_key": token.token_key,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Institutions A and B with their people and objects, a researcher and computed
    figures; created once, rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        objects = {"a": _institution("21KA", "Alfa"), "b": _institution("22KB", "Beta")}
        researcher = _user("matrix_researcher")
        Membership.objects.create(user=researcher, institution=None, role=Role.RESEARCHER)
        figures.compute_school_year(YEAR)
        users = {
            "anonymous": None,
            "registrar_a": objects["a"]["registrar"],
            "coordinator_a": objects["a"]["coordinator"],
            "registrar_b": objects["b"]["registrar"],
            "coordinator_b": objects["b"]["coordinator"],
            "researcher": researcher,
        }
        yield users, objects
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- The checks --------------------------------------------------------------------------------


def forbidden_canaries(user: str, objects: Objects) -> list[str]:
    """What ``user`` must never receive, whatever the URL."""
    if user == "anonymous":
        return [value for side in TARGETS for value in objects[side]["canaries"].values()]
    if user == "researcher":
        return [objects[side]["canaries"][key] for side in TARGETS for key in TEXT_CANARIES]
    role, side = user.rsplit("_", 1)
    other = "b" if side == "a" else "a"
    secrets = list(objects[other]["canaries"].values())
    if role == "registrar":
        secrets.append(objects[side]["canaries"]["colleague"])
        # The institution's questionnaire answers are for its coordinators only.
        secrets.append(objects[side]["canaries"]["questionnaire"])
    return secrets


def _content(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _json_values(document, keys: set[str]) -> Iterator[object]:
    if isinstance(document, dict):
        for key, value in document.items():
            if key in keys and not isinstance(value, dict | list):
                yield value
            yield from _json_values(value, keys)
    elif isinstance(document, list):
        for item in document:
            yield from _json_values(item, keys)


def leaks(user: str, objects: Objects, response) -> list[str]:
    content = _content(response)
    found = [secret for secret in forbidden_canaries(user, objects) if secret in content]
    if user.endswith(("_a", "_b")) and "json" in response.get("Content-Type", ""):
        other = objects["b" if user.endswith("_a") else "a"]["institution"]
        try:
            document = json.loads(content)
        except ValueError:
            document = None
        named = set(_json_values(document, {"institution", "brin"}))
        found += [f"BRIN {other.brin}"] if other.brin in named else []
    return found


# What a refused request must leave alone. Raw SQL: the snapshot is taken twice per request
# (about 3,000 times per run) and the ORM's per-query overhead dominated the matrix's time.
WATCHED = (
    Incident,
    Location,
    Institution,
    ImportJob,
    LabelMapping,
    FigureJob,
    IncidentEvent,
    IdempotencyRecord,
    Membership,
    QuestionnaireResponse,
    Answer,
    OpenAnswer,
    QuestionnaireEvent,
    AuditEvent,
    Invitation,
    AuthToken,
    ApiTokenInfo,
    UnusableYear,
)


def snapshot() -> tuple:
    rows = []
    with connection.cursor() as cursor:
        for model in WATCHED:
            cursor.execute(f"SELECT * FROM {model._meta.db_table} ORDER BY 1")
            rows.append(cursor.fetchall())
        # Accounts, without last_login (force_login writes it before each request).
        table = get_user_model()._meta.db_table
        cursor.execute(
            f"SELECT id, username, email, is_active, is_superuser FROM {table} ORDER BY 1"
        )
        rows.append(cursor.fetchall())
    return tuple(rows)


def _client(case: Case, user):
    client = APIClient() if case.api else Client()
    if user is not None:
        if case.api:
            client.force_authenticate(user=user)
        else:
            client.force_login(user)
    return client


CHECKED = {"cases": 0, "failures": 0, "uncovered": 0}


def _record() -> None:
    patterns = len(list(_walk(get_resolver())))
    uncovered = f", {CHECKED['uncovered']} without a case" if CHECKED["uncovered"] else ""
    summary.record(
        "authorization cases checked",
        f"{CHECKED['cases']} requests ({len(ALL_CASES)} cases over {patterns} URL patterns"
        f"{uncovered} x {len(USERS)} users x own/other), each also checked for leaked canaries",
        failures=CHECKED["failures"] + CHECKED["uncovered"],
    )


@pytest.mark.parametrize("case,user,target", _params())
def test_matrix(world, case: Case, user: str, target: str):
    users, objects = world
    who = perspective(user, target)
    status = case.expected[who]
    before = snapshot()
    client = _client(case, users[user])
    url = case.url(objects[target])
    data = case.body(objects[target]) if case.body else None
    if case.api:
        response = getattr(client, case.method)(url, data, format="json", **case.headers)
    else:
        response = getattr(client, case.method)(url, data or {}, **case.headers)
    CHECKED["cases"] += 1
    problems = []
    if response.status_code != status:
        problems.append(f"status {response.status_code}, expected {status}")
    if user == "anonymous" and response.status_code == 302 and case.anonymous_to:
        if not response["Location"].startswith(case.anonymous_to):
            problems.append(f"anonymous sent to {response['Location']}")
    leaked = leaks(user, objects, response)
    if leaked:
        problems.append(f"leaked {leaked}")
    if not case.may_write(who) and snapshot() != before:
        problems.append("a request that may not write changed stored data")
    CHECKED["failures"] += bool(problems)
    _record()
    assert not problems, f"{case.method.upper()} {url} as {user}: {problems}"


# --- Every URL pattern (and declared method) has a case ---------------------------------------


def _declared_methods(match) -> set[str]:
    """The methods a view says it serves: DRF viewset actions and APIView handlers, or the
    list of ``require_http_methods`` (and its shortcuts) in a function view's decorators.
    Empty when the view does not say (then the route alone must be covered)."""
    func = match.func
    cls = getattr(func, "cls", None)
    if cls is not None and hasattr(cls, "http_method_names"):
        allowed = {m for m in cls.http_method_names if m not in ("head", "options")}
        actions = getattr(func, "actions", None)
        if actions:
            return {m for m in actions if m in allowed}
        return {m for m in allowed if hasattr(cls, m)}
    while func is not None:
        try:
            closure = inspect.getclosurevars(func).nonlocals
        except TypeError:
            closure = {}
        if "request_method_list" in closure:
            return {m.lower() for m in closure["request_method_list"]} - {"head"}
        func = getattr(func, "__wrapped__", None)
    return set()


def test_every_url_pattern_has_a_case(world):
    _users, objects = world
    covered: dict[str, set[str]] = {}
    for case in ALL_CASES:
        for target in TARGETS if case.targeted else TARGETS[:1]:
            path = urlsplit(case.url(objects[target])).path
            covered.setdefault(resolve(path).route, set()).add(case.method)
    missing_routes, missing_methods = [], []
    for route, _pattern in _walk(get_resolver()):
        if route not in covered:
            missing_routes.append(route)
            continue
        sample = next(
            urlsplit(c.url(objects["a"])).path
            for c in ALL_CASES
            if resolve(urlsplit(c.url(objects["a"])).path).route == route
        )
        declared = _declared_methods(resolve(sample))
        missing_methods += [f"{m.upper()} {route}" for m in sorted(declared - covered[route])]
    CHECKED["uncovered"] = len(missing_routes) + len(missing_methods)
    _record()
    assert not missing_routes, (
        f"URL patterns without a case in tests/miv/test_authorization_matrix.py: {missing_routes}"
    )
    assert not missing_methods, f"declared methods without a case: {missing_methods}"


def test_the_admin_has_a_case_per_registered_model(world):
    """A sanity check of the generator: every model registered in the admin is covered."""
    names = {case.name for case in ADMIN_CASES}
    for model in admin_site._registry:
        meta = model._meta
        assert f"admin:{meta.app_label}_{meta.model_name}_changelist" in names


# --- Filter choices ------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["registrar_a", "coordinator_a", "registrar_b", "coordinator_b"])
def test_filter_choices_never_offer_another_institutions_objects(world, user):
    users, objects = world
    side = user[-1]
    own = objects[side]["institution"]
    other = objects["b" if side == "a" else "a"]
    client = Client()
    client.force_login(users[user])

    page = client.get("/incidents/")
    form = page.context["filterset"].form
    assert set(form.fields["location"].queryset.values_list("institution", flat=True)) == {own.pk}
    assert set(form.fields["institution"].queryset.values_list("pk", flat=True)) == {own.pk}
    html = page.content.decode()
    assert other["canaries"]["location"] not in html
    assert f'value="{other["location"].pk}"' not in html

    # Naming the other institution's location or BRIN in a filter is refused (400), the
    # same in the HTML list and the API, and lists nothing.
    for query in ({"location": other["location"].pk}, {"institution": other["institution"].brin}):
        refused = client.get("/incidents/", query)
        assert refused.status_code == 400 and not refused.context["page"].object_list
        api = APIClient()
        api.force_authenticate(users[user])
        assert api.get("/api/v1/incidents/", query).status_code == 400

    # The registration form offers only own locations too.
    register = client.get("/incidents/register/")
    choices = register.context["form"].fields["location"].queryset
    assert set(choices.values_list("institution", flat=True)) == {own.pk}
    # And the filterset itself, as the API builds it.
    filterset = IncidentFilterSet(queryset=Incident.objects.all(), request=page.wsgi_request)
    assert other["location"] not in filterset.form.fields["location"].queryset
