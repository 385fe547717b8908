"""Web pages of the questionnaire, under ``/questionnaire/``: the overview, one page per
section, the summary with submit, the download of the institution's own answers, and the
administrator's reopen page.

Coordinators answer for their institutions; administrators read every response and reopen
submitted ones. Everyone else gets 403 (anonymous users the login page); another
institution's response does not exist for a coordinator (404). Scoping:
``QuestionnaireResponse.objects.visible_to`` / ``answerable_by``; rules: ``services``.
"""

from __future__ import annotations

import io
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from incidents.models import Institution
from incidents.roles import coordinator_institution_ids, is_administrator, is_coordinator
from miv.errors import DomainError

from . import exports, services
from .answers import missing, visibility
from .forms import ReopenForm, SectionForm
from .models import QuestionnaireResponse

ACTIONS = {"next", "previous", "save"}


def coordinator_or_administrator(view):
    """Coordinators and administrators; anonymous users to the login page, others 403."""

    protected = login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not (is_coordinator(user) or is_administrator(user)):
            raise PermissionDenied
        return protected(request, *args, **kwargs)

    return wrapper


def _visible(request, brin: str, school_year: str) -> QuestionnaireResponse:
    return get_object_or_404(
        QuestionnaireResponse.objects.visible_to(request.user).select_related(
            "institution", "version", "submitted_by"
        ),
        institution__brin=brin,
        school_year=school_year,
    )


def _answerable(request, brin: str, school_year: str) -> QuestionnaireResponse:
    """A response the user fills in: invisible is 404, visible but not theirs to answer
    (an administrator) 403."""
    response = _visible(request, brin, school_year)
    if not QuestionnaireResponse.objects.answerable_by(request.user).filter(pk=response.pk):
        raise PermissionDenied
    return response


def _section_url(response, number: int) -> str:
    return reverse(
        "questionnaire:section",
        kwargs={
            "brin": response.institution.brin,
            "school_year": response.school_year,
            "number": number,
        },
    )


def _summary_url(response) -> str:
    return reverse(
        "questionnaire:summary",
        kwargs={"brin": response.institution.brin, "school_year": response.school_year},
    )


# --- Overview -------------------------------------------------------------------------------


@coordinator_or_administrator
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Coordinators: their institutions × the school years that can be answered (and any
    earlier responses). Administrators: every response."""
    years = services.answerable_school_years()
    responses = QuestionnaireResponse.objects.visible_to(request.user).select_related(
        "institution", "version"
    )
    by_key = {(r.institution_id, r.school_year): r for r in responses}
    institutions = Institution.objects.filter(
        pk__in=coordinator_institution_ids(request.user)
    ).order_by("name")
    own = []
    for institution in institutions:
        earlier = sorted(
            (y for (i, y) in by_key if i == institution.pk and y not in years), reverse=True
        )
        own.append(
            {
                "institution": institution,
                "years": [(year, by_key.get((institution.pk, year))) for year in years + earlier],
            }
        )
    context = {
        "own": own,
        "all_responses": responses.order_by("-school_year", "institution__name")
        if is_administrator(request.user)
        else None,
        "answerable_years": years,
    }
    return render(request, "questionnaire/overview.html", context)


@coordinator_or_administrator
@require_POST
def start(request: HttpRequest, brin: str, school_year: str) -> HttpResponse:
    """Start (or continue) the institution's response for the school year."""
    institution = get_object_or_404(
        Institution.objects.filter(pk__in=coordinator_institution_ids(request.user)), brin=brin
    )
    try:
        response = services.start_response(
            actor=request.user, institution=institution, school_year=school_year
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("questionnaire:overview")
    if not response.is_draft:
        return redirect(_summary_url(response))
    return redirect(_section_url(response, response.version.questionnaire.sections[0].number))


# --- One section per page -----------------------------------------------------------------


def _sections_state(questionnaire, answers) -> list[dict]:
    open_questions = {p.question for p in missing(questionnaire, answers)}
    return [
        {
            "section": s,
            "title": s.title(),
            "complete": not any(q.code in open_questions for q in s.questions),
        }
        for s in questionnaire.sections
    ]


@coordinator_or_administrator
@never_cache
@require_http_methods(["GET", "POST"])
def section(request: HttpRequest, brin: str, school_year: str, number: int) -> HttpResponse:
    """One section of the questionnaire. Every POST saves the page as a draft (nothing is
    lost), then: *Vorige* goes back, *Opslaan en later verder* to the overview, *Volgende*
    on when the page is complete. Answers that make follow-up questions appear on this
    page show the page again with those questions (no JavaScript needed)."""
    response = _answerable(request, brin, school_year)
    if not response.is_draft:
        messages.info(request, _("Deze vragenlijst is ingediend; u ziet hier uw antwoorden."))
        return redirect(_summary_url(response))
    questionnaire = response.version.questionnaire
    current = questionnaire.section(number)
    if current is None:
        raise Http404
    numbers = [s.number for s in questionnaire.sections]
    position = numbers.index(number)
    stored = services.load_answers(response)
    status = 200
    new: set = set()
    notice = ""

    def form_for(answers, bound=False):
        if bound:
            form = SectionForm(
                SectionForm.data_from(current, answers),
                questionnaire=questionnaire,
                section=current,
            )
            form.is_valid()
            return form
        return SectionForm(
            questionnaire=questionnaire,
            section=current,
            initial=SectionForm.initial_from(current, answers),
        )

    shown_answers = stored
    if request.method == "GET":
        form = form_for(stored)
    else:
        action = request.POST.get("_action", "next")
        action = action if action in ACTIONS else "next"
        form = SectionForm(request.POST, questionnaire=questionnaire, section=current)
        if not form.is_valid():
            status = 400
        else:
            try:
                result = services.save_answers(
                    actor=request.user,
                    response=response,
                    answers=form.answers(),
                    questions=[q.code for q in current.questions],
                    section=number,
                )
            except services.AnswerError as error:
                form.add_problems(error.problems)
                status = 400
            else:
                saved = result.answers
                shown_answers = saved
                before, after = visibility(questionnaire, stored), visibility(questionnaire, saved)
                new = {
                    (q.code, row)
                    for q in current.questions
                    for row in after.get(q.code, ())
                    if row not in before.get(q.code, ())
                    and not saved.selected(q.code, row)
                    and not saved.text(q.code, row)
                }
                if action == "save":
                    messages.success(
                        request,
                        _("Uw antwoorden zijn als concept opgeslagen. U kunt later verder gaan."),
                    )
                    return redirect("questionnaire:overview")
                if action == "previous":
                    target = numbers[max(position - 1, 0)]
                    return redirect(_section_url(response, target))
                if new:
                    notice = _(
                        "Uw antwoorden zijn opgeslagen. Door uw antwoorden zijn er "
                        "vervolgvragen bijgekomen; beantwoord die en ga dan verder."
                    )
                    form = form_for(saved)
                else:
                    open_here = missing(questionnaire, saved, [q.code for q in current.questions])
                    if not open_here:
                        if position + 1 < len(numbers):
                            return redirect(_section_url(response, numbers[position + 1]))
                        return redirect(_summary_url(response))
                    form = form_for(saved, bound=True)
                    form.add_problems(open_here)
                    notice = _(
                        "Uw antwoorden zijn als concept opgeslagen. Beantwoord de vragen "
                        "hieronder om verder te gaan, of kies 'Opslaan en later verder'."
                    )
                    status = 400
    context = {
        "response": response,
        "questionnaire": questionnaire,
        "section": current,
        "section_title": current.title(),
        "position": position + 1,
        "count": len(numbers),
        "previous_number": numbers[position - 1] if position else None,
        "is_last": position + 1 == len(numbers),
        "form": form,
        "blocks": form.blocks(visibility(questionnaire, shown_answers), new),
        "sections": _sections_state(questionnaire, shown_answers),
        "notice": notice,
        "first_new": min(
            (f"vraag-{q}" for q, _row in new),
            key=lambda a: [q.code for q in current.questions].index(a.removeprefix("vraag-")),
            default="",
        ),
    }
    return render(request, "questionnaire/section.html", context, status=status)


# --- Summary, submit, download ----------------------------------------------------------------


@coordinator_or_administrator
@never_cache
@require_GET
def summary(request: HttpRequest, brin: str, school_year: str) -> HttpResponse:
    """The institution's answers, read-only, with what is still missing, the history and
    the downloads; the submit button for a draft."""
    response = _visible(request, brin, school_year)
    return _summary_page(request, response)


def _summary_page(request, response, problems=None, status=200) -> HttpResponse:
    questionnaire = response.version.questionnaire
    answers = services.load_answers(response)
    rows = exports.answer_rows(questionnaire, answers)
    open_problems = missing(questionnaire, answers)
    can_answer = QuestionnaireResponse.objects.answerable_by(request.user).filter(pk=response.pk)
    context = {
        "response": response,
        "questionnaire": questionnaire,
        "sections": [
            {
                "section": s,
                "title": s.title(),
                "rows": [r for r in rows if r.section == s.number],
                "complete": not any(
                    p.question in {q.code for q in s.questions} for p in open_problems
                ),
            }
            for s in questionnaire.sections
        ],
        "missing_count": len(open_problems),
        "submit_problems": problems or [],
        "can_answer": bool(can_answer) and response.is_draft,
        "can_reopen": is_administrator(request.user) and not response.is_draft,
        "events": response.events.select_related("actor"),
    }
    return render(request, "questionnaire/summary.html", context, status=status)


@coordinator_or_administrator
@require_POST
def submit(request: HttpRequest, brin: str, school_year: str) -> HttpResponse:
    response = _answerable(request, brin, school_year)
    try:
        services.submit(actor=request.user, response=response)
    except services.AnswerError as error:
        questionnaire = response.version.questionnaire
        return _summary_page(
            request,
            response,
            problems=sorted(
                {p.question for p in error.problems}, key=_question_order(questionnaire)
            ),
            status=400,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(_summary_url(response))
    messages.success(request, _("De vragenlijst is ingediend. Dank u wel."))
    return redirect(_summary_url(response))


def _question_order(questionnaire):
    order = [q.code for q in questionnaire.questions]
    return lambda code: order.index(code) if code in order else len(order)


@coordinator_or_administrator
@require_GET
def download(request: HttpRequest, brin: str, school_year: str, fmt: str) -> HttpResponse:
    """The institution's answers as CSV or XLSX (open answers included: its own)."""
    response = _visible(request, brin, school_year)
    columns, rows = exports.table(response, services.load_answers(response))
    stem = exports.file_stem(response)
    if fmt == "xlsx":
        buffer = io.BytesIO()
        exports.write_xlsx(columns, rows, buffer)
        http = HttpResponse(buffer.getvalue(), content_type=exports.XLSX_CONTENT_TYPE)
    else:
        http = HttpResponse(
            exports.csv_bytes(columns, rows), content_type="text/csv; charset=utf-8"
        )
    http["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    http["Cache-Control"] = "no-store"
    return http


# --- Reopen (administrators) --------------------------------------------------------------------


@coordinator_or_administrator
@require_http_methods(["GET", "POST"])
def reopen(request: HttpRequest, brin: str, school_year: str) -> HttpResponse:
    response = _visible(request, brin, school_year)
    if not is_administrator(request.user):
        raise PermissionDenied
    status = 200
    form = ReopenForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.reopen(
                    actor=request.user, response=response, reason=form.cleaned_data["reason"]
                )
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("De vragenlijst is heropend."))
            return redirect(_summary_url(response))
        status = 400
    return render(
        request, "questionnaire/reopen.html", {"response": response, "form": form}, status=status
    )
