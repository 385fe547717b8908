"""The safety-policy questionnaire (*Bijlage 7*) and the institutions' answers to it.

A :class:`QuestionnaireVersion` holds one published version as data (the fixture document,
parsed by :mod:`questionnaire.definition`). Each institution answers it once per school
year: a :class:`QuestionnaireResponse`, a draft until a coordinator submits it. Closed
answers (:class:`Answer`) feed the sector figures; open answers (:class:`OpenAnswer`) are
free text about the institution and confidential: only the institution's coordinators and
administrators read them, never researchers, never a sector figure. Keeping them in their
own table makes that checkable: the figures read :class:`Answer` only.

Who sees which response is decided in one place: ``QuestionnaireResponse.objects.visible_to``.
"""

from functools import cached_property

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.choices import Role
from incidents.models import Institution, Membership, is_administrator

from .choices import ResponseAction, ResponseStatus
from .definition import Questionnaire, parse


class QuestionnaireVersion(models.Model):
    """A published version of the questionnaire (e.g. ``VB-2023``), loaded from its fixture
    by a data migration. ``definition`` is the fixture document itself."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name_nl = models.CharField(_("naam (NL)"), max_length=200)
    name_en = models.CharField(_("naam (EN)"), max_length=200)
    published_on = models.DateField(_("gepubliceerd op"))
    source = models.TextField(_("bron"), blank=True)
    definition = models.JSONField(_("vragen"))

    class Meta:
        ordering = ["published_on", "code"]
        verbose_name = _("versie van de vragenlijst")
        verbose_name_plural = _("versies van de vragenlijst")

    def __str__(self) -> str:
        return self.code

    @classmethod
    def current(cls) -> "QuestionnaireVersion | None":
        """The latest published version: the one new responses are made with."""
        return cls.objects.order_by("-published_on", "-code").first()

    @cached_property
    def questionnaire(self) -> Questionnaire:
        return parse(self.definition)


def _coordinated_institutions(user):
    return Membership.objects.filter(
        user=user, role=Role.COORDINATOR, institution__isnull=False
    ).values("institution_id")


class ResponseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one place that decides whose answers a user may read: administrators all,
        coordinators their own institutions'. Registrars, researchers and anonymous users
        none (researchers get sector aggregates of closed answers only)."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if is_administrator(user):
            return self
        return self.filter(institution__in=_coordinated_institutions(user))

    def answerable_by(self, user):
        """Responses the user may fill in: coordinators their own institutions' (while a
        response is a draft, see ``services``)."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        return self.filter(institution__in=_coordinated_institutions(user))


class QuestionnaireResponse(models.Model):
    """An institution's answers for one school year."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="questionnaire_responses",
        verbose_name=_("instelling"),
    )
    school_year = models.CharField(_("schooljaar"), max_length=9, db_index=True)
    version = models.ForeignKey(
        QuestionnaireVersion,
        on_delete=models.PROTECT,
        related_name="responses",
        verbose_name=_("versie"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ResponseStatus.choices, default=ResponseStatus.DRAFT
    )
    created_at = models.DateTimeField(_("begonnen op"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)
    submitted_at = models.DateTimeField(_("ingediend op"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ingediend door"),
    )

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-school_year", "institution__name"]
        verbose_name = _("antwoorden vragenlijst")
        verbose_name_plural = _("antwoorden vragenlijst")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "school_year"], name="questionnaire_response_once_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution.brin} {self.school_year} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == ResponseStatus.DRAFT


class Answer(models.Model):
    """One chosen answer: ``option`` for ``question`` (in the row ``item`` of a grid; empty
    for a question without items). Codes are those of the response's version."""

    response = models.ForeignKey(
        QuestionnaireResponse, on_delete=models.CASCADE, related_name="answers"
    )
    question = models.CharField(_("vraagcode"), max_length=10)
    item = models.CharField(_("onderdeelcode"), max_length=10, blank=True)
    option = models.CharField(_("antwoordcode"), max_length=40)

    class Meta:
        ordering = ["response", "id"]
        verbose_name = _("antwoord")
        verbose_name_plural = _("antwoorden")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question", "item", "option"], name="answer_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question}{'.' + self.item if self.item else ''}={self.option}"


class OpenAnswer(models.Model):
    """A free-text answer about the institution (``slot``: empty for the question, or the
    code of an "Anders, namelijk" item). Confidential: never in figures or research data."""

    response = models.ForeignKey(
        QuestionnaireResponse, on_delete=models.CASCADE, related_name="open_answers"
    )
    question = models.CharField(_("vraagcode"), max_length=10)
    slot = models.CharField(_("onderdeelcode"), max_length=10, blank=True)
    text = models.TextField(_("tekst"))

    class Meta:
        ordering = ["response", "id"]
        verbose_name = _("open antwoord")
        verbose_name_plural = _("open antwoorden")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question", "slot"], name="open_answer_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question}{'.' + self.slot if self.slot else ''}"


class ResponseEvent(models.Model):
    """The history (audit trail) of a response: started, saved, submitted, reopened. It
    names the questions saved, never an answer."""

    response = models.ForeignKey(
        QuestionnaireResponse, on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(_("actie"), max_length=12, choices=ResponseAction.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("tijdstip"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("gebeurtenis")
        verbose_name_plural = _("historie")

    def __str__(self) -> str:
        return f"{self.response} {self.action} {self.at:%Y-%m-%d %H:%M}"
