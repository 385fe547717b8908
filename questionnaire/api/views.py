"""The questionnaire API: the questionnaire itself (every role), and an institution's
responses for its coordinators (and administrators): start, save answers as a draft, submit;
administrators reopen. The same services as the web pages, so the same rules.

Researchers and registrars get 403; another institution's response is a 404.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.models import Institution
from incidents.roles import coordinator_institution_ids, is_administrator

from .. import services
from ..answers import missing, visibility
from ..models import QuestionnaireResponse, QuestionnaireVersion
from .permissions import CoordinatorOrAdministrator
from .serializers import (
    AnswersUpdateSerializer,
    QuestionnaireVersionSerializer,
    ReopenSerializer,
    ResponseCreateSerializer,
    ResponseSerializer,
    answers_from_json,
    answers_json,
    problem_errors,
    questionnaire_json,
)

TAG = "questionnaire"
ERRORS = {
    400: OpenApiResponse(description="Field errors, in the shape of the request"),
    403: OpenApiResponse(description="Not a coordinator or administrator"),
    404: OpenApiResponse(description="No such response (or not yours)"),
}


def response_json(response: QuestionnaireResponse, answers=None) -> dict:
    questionnaire = response.version.questionnaire
    answers = answers if answers is not None else services.load_answers(response)
    shown = visibility(questionnaire, answers)
    return {
        "institution": response.institution.brin,
        "school_year": response.school_year,
        "version": response.version.code,
        "status": response.status,
        "created_at": response.created_at,
        "updated_at": response.updated_at,
        "submitted_at": response.submitted_at,
        "answers": answers_json(questionnaire, answers),
        "asked": [
            {"question": code, "items": [row for row in rows if row]}
            for code, rows in shown.items()
        ],
        "missing": [
            {"question": p.question, "item": p.item} for p in missing(questionnaire, answers)
        ],
    }


@extend_schema(tags=[TAG])
class VersionList(APIView):
    """Every version of the questionnaire with its questions, oldest first; the last one is
    used for new responses. Codes never change meaning between versions."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The questionnaire (Bijlage 7), every version",
        description=(
            "Every version with its sections, questions, items, answer options and the "
            "conditions under which a question is asked. Codes never change meaning; new "
            "responses use the last version."
        ),
        responses=QuestionnaireVersionSerializer(many=True),
    )
    def get(self, request, format=None):
        return Response(
            [
                {
                    "code": v.code,
                    "name_nl": v.name_nl,
                    "name_en": v.name_en,
                    "published_on": v.published_on,
                    "questionnaire": questionnaire_json(v.questionnaire),
                }
                for v in QuestionnaireVersion.objects.order_by("published_on", "code")
            ]
        )


def _responses(request):
    return QuestionnaireResponse.objects.visible_to(request.user).select_related(
        "institution", "version"
    )


@extend_schema(tags=[TAG])
class ResponseList(APIView):
    permission_classes = [CoordinatorOrAdministrator]

    @extend_schema(
        summary="Your institutions' responses (administrators: all)",
        description=(
            "The responses of the institutions you coordinate, one per school year, with "
            "their status (draft, submitted) and answers. Open answers are confidential: "
            "only the institution's coordinators and administrators read them."
        ),
        responses={200: ResponseSerializer(many=True), 403: ERRORS[403]},
    )
    def get(self, request, format=None):
        return Response([response_json(r) for r in _responses(request)])

    @extend_schema(
        summary="Start the response of your institution for a school year",
        description=(
            "Creates the draft response of an institution you coordinate for the current or "
            "the previous school year. Idempotent: when it exists already the answer is 200 "
            "with the existing response."
        ),
        request=ResponseCreateSerializer,
        responses={
            201: ResponseSerializer,
            200: OpenApiResponse(ResponseSerializer, description="It was started already"),
            **ERRORS,
        },
    )
    def post(self, request, format=None):
        body = ResponseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        institution = Institution.objects.filter(
            pk__in=coordinator_institution_ids(request.user),
            brin=body.validated_data["institution"].upper(),
        ).first()
        if institution is None:
            raise ValidationError(
                {"institution": [_("U bent geen coördinator van deze instelling.")]}
            )
        school_year = body.validated_data["school_year"]
        if school_year not in services.answerable_school_years():
            raise ValidationError(
                {
                    "school_year": [
                        _("Kies een van deze schooljaren: %(years)s.")
                        % {"years": ", ".join(services.answerable_school_years())}
                    ]
                }
            )
        existed = QuestionnaireResponse.objects.filter(
            institution=institution, school_year=school_year
        ).exists()
        response = services.start_response(
            actor=request.user, institution=institution, school_year=school_year
        )
        return Response(
            response_json(response),
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
            # Where the response lives (clients and schemathesis' links follow it).
            headers={
                "Location": reverse(
                    "questionnaire-response",
                    kwargs={"institution": institution.brin, "school_year": school_year},
                )
            },
        )


class _OneResponse(APIView):
    permission_classes = [CoordinatorOrAdministrator]

    def get_response(self, request, institution: str, school_year: str) -> QuestionnaireResponse:
        return get_object_or_404(
            _responses(request), institution__brin=institution, school_year=school_year
        )

    def answerable(self, request, institution: str, school_year: str) -> QuestionnaireResponse:
        response = self.get_response(request, institution, school_year)
        if not QuestionnaireResponse.objects.answerable_by(request.user).filter(pk=response.pk):
            raise PermissionDenied(_("Alleen de coördinatoren van de instelling vullen dit in."))
        return response


@extend_schema(tags=[TAG])
class ResponseDetail(_OneResponse):
    @extend_schema(
        summary="One response with its answers, what is asked and what is missing",
        description=(
            "The answers so far, the questions asked given those answers (follow-up "
            "questions appear only when their condition holds) and what is still missing "
            "before the response can be submitted."
        ),
        responses={200: ResponseSerializer, 403: ERRORS[403], 404: ERRORS[404]},
    )
    def get(self, request, institution, school_year, format=None):
        return Response(response_json(self.get_response(request, institution, school_year)))

    @extend_schema(
        summary="Save answers as a draft",
        description=(
            "The questions in `answers` are replaced; the others keep their answers. Answers "
            "that are no longer asked given the new ones are removed. Refused as a whole "
            "(400) when an answer is invalid or answers a question that is not asked; 409 "
            "when the response was submitted."
        ),
        request=AnswersUpdateSerializer,
        responses={
            200: ResponseSerializer,
            409: OpenApiResponse(description="Submitted"),
            **ERRORS,
        },
    )
    def patch(self, request, institution, school_year, format=None):
        response = self.answerable(request, institution, school_year)
        body = AnswersUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        questionnaire = response.version.questionnaire
        answers, errors = answers_from_json(questionnaire, body.validated_data["answers"])
        if errors:
            raise ValidationError({"answers": errors})
        try:
            result = services.save_answers(
                actor=request.user,
                response=response,
                answers=answers,
                questions=list(body.validated_data["answers"]),
                strict=True,
            )
        except services.AnswerError as error:
            raise ValidationError(
                {"answers": problem_errors(questionnaire, error.problems)}
            ) from error
        return Response(response_json(result.response, result.answers))


@extend_schema(tags=[TAG])
class ResponseSubmit(_OneResponse):
    @extend_schema(
        summary="Submit a complete response",
        description=(
            "Submits the response when every asked question is answered (400 with the "
            "missing answers otherwise). A submitted response counts in the sector figures "
            "and can only be reopened by an administrator."
        ),
        request=None,
        responses={
            200: ResponseSerializer,
            409: OpenApiResponse(description="Submitted"),
            **ERRORS,
        },
    )
    def post(self, request, institution, school_year, format=None):
        response = self.answerable(request, institution, school_year)
        try:
            response = services.submit(actor=request.user, response=response)
        except services.AnswerError as error:
            raise ValidationError(
                {
                    "detail": _("De vragenlijst is nog niet compleet."),
                    "answers": problem_errors(response.version.questionnaire, error.problems),
                }
            ) from error
        return Response(response_json(response))


@extend_schema(tags=[TAG])
class ResponseReopen(_OneResponse):
    @extend_schema(
        summary="Reopen a submitted response (administrators)",
        description=(
            "Administrators only: turns a submitted response back into a draft, with a "
            "reason that is recorded in the history."
        ),
        request=ReopenSerializer,
        responses={
            200: ResponseSerializer,
            409: OpenApiResponse(description="Not submitted"),
            **ERRORS,
        },
    )
    def post(self, request, institution, school_year, format=None):
        response = self.get_response(request, institution, school_year)
        if not is_administrator(request.user):
            raise PermissionDenied(_("Alleen een beheerder kan een vragenlijst heropenen."))
        body = ReopenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        response = services.reopen(
            actor=request.user, response=response, reason=body.validated_data["reason"]
        )
        return Response(response_json(response))
