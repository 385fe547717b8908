"""Institutions, their locations (vestigingen), memberships and incidents.

Who may see what is decided in exactly one place: the ``visible_to`` / ``registrable_by``
queryset methods below. Every view, filter choice, export and API endpoint starts from
them.

Size (over 500 lines, on purpose): Django's one models module per app; the scoping
querysets live beside the models they scope, so the one place that decides who sees what
stays one place.
"""

import secrets
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from miv.models import Job, JobQuerySet
from miv.schoolyear import school_year_of
from taxonomy.models import IncidentType, TaxonomyVersion

from .choices import (
    EventAction,
    ImportKind,
    Injury,
    InstitutionKind,
    PerpetratorRole,
    Place,
    Region,
    Role,
    Status,
    Urbanity,
    VictimRole,
)

EARLIEST_INCIDENT_DATE = date(2000, 1, 1)
TEXT_MAX_LENGTH = 5000
# The coordinator's short note to the reporter when closing: a few sentences, no file.
NOTE_MAX_LENGTH = 1000

brin_validator = RegexValidator(
    r"^[0-9]{2}[A-Z]{2}$", _("Een BRIN-code bestaat uit twee cijfers en twee hoofdletters.")
)


def is_administrator(user) -> bool:
    """Administrators of the sector network: they use the Django admin and see everything."""
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def memberships_of(user) -> list["Membership"]:
    """The user's memberships, read once per request and kept on the user object."""
    if not (user and user.is_authenticated):
        return []
    cached = getattr(user, "_miv_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("institution"))
        user._miv_memberships = cached
    return cached


def _role_institutions(user, *roles: str) -> list[int]:
    """Ids of the institutions where the user holds one of ``roles``. A list of literals,
    not a subquery: PostgreSQL then plans each scoped query with the institution index
    (a subquery inside an OR made it scan the whole incident table)."""
    return sorted(
        {m.institution_id for m in memberships_of(user) if m.role in roles and m.institution_id}
    )


def _new_pseudonym() -> str:
    return "I-" + secrets.token_hex(3).upper()


# --- Institutions and locations ------------------------------------------------------------


class InstitutionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Institutions a user may read: administrators and researchers with named access
        all, otherwise the institutions the user is a member of. A pseudonymised researcher
        gets none: BRIN, kind, region and urbanity side by side would undo the pseudonyms
        of the research figures."""
        if not (user and user.is_authenticated):
            return self.none()
        if is_administrator(user) or any(
            m.role == Role.RESEARCHER and m.named_access for m in memberships_of(user)
        ):
            return self
        return self.filter(memberships__user=user).distinct()

    def manageable_by(self, user):
        """Institutions whose locations the user may manage: coordinators their own."""
        if is_administrator(user):
            return self
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(pk__in=_role_institutions(user, Role.COORDINATOR))


class Institution(models.Model):
    """An MBO institution (instelling), identified by its BRIN code (e.g. ``25LJ``)."""

    brin = models.CharField(_("BRIN"), max_length=4, unique=True, validators=[brin_validator])
    name = models.CharField(_("naam"), max_length=200)
    kind = models.CharField(_("soort"), max_length=10, choices=InstitutionKind.choices)
    region = models.CharField(_("regio"), max_length=10, choices=Region.choices, blank=True)
    urbanity = models.PositiveSmallIntegerField(
        _("stedelijkheid"), choices=Urbanity.choices, null=True, blank=True
    )
    city = models.CharField(_("plaats"), max_length=100, blank=True)
    active = models.BooleanField(_("actief"), default=True)
    # Shown to researchers instead of the BRIN; stable for the life of the institution.
    pseudonym = models.CharField(
        _("pseudoniem"), max_length=12, unique=True, default=_new_pseudonym, editable=False
    )

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("instelling")
        verbose_name_plural = _("instellingen")

    def __str__(self) -> str:
        return f"{self.name} ({self.brin})"


class LocationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Locations a user may read: administrators all, members those of their own
        institutions. Researchers none: they get aggregates per institution only."""
        if not (user and user.is_authenticated):
            return self.none()
        if is_administrator(user):
            return self
        return self.filter(institution__memberships__user=user).distinct()

    def registrable_by(self, user):
        """Active locations where the user may register incidents. Each location read from
        it carries ``registrable_for`` (the user's id): proof, for the registration service,
        that it was checked in this very query."""
        if is_administrator(user):
            checked = self.filter(active=True, institution__active=True)
        elif not (user and user.is_authenticated):
            return self.none()
        else:
            institutions = _role_institutions(user, Role.REGISTRAR, Role.COORDINATOR)
            checked = self.filter(
                active=True, institution__active=True, institution__in=institutions
            )
        return checked.annotate(registrable_for=models.Value(user.pk))

    def manageable_by(self, user):
        """Locations the user may create or change: coordinators manage their own."""
        if is_administrator(user):
            return self
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(institution__in=_role_institutions(user, Role.COORDINATOR))


class Location(models.Model):
    """A location (vestiging) of an institution, where incidents happen."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="locations",
        verbose_name=_("instelling"),
    )
    code = models.CharField(
        _("code"),
        max_length=20,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", _("Alleen letters, cijfers, - _ ."))],
    )
    name = models.CharField(_("naam"), max_length=200)
    municipality = models.CharField(_("gemeente"), max_length=100, blank=True)
    active = models.BooleanField(_("actief"), default=True)

    objects = LocationQuerySet.as_manager()

    class Meta:
        ordering = ["institution__name", "name"]
        verbose_name = _("vestiging")
        verbose_name_plural = _("vestigingen")
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="location_code_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def is_registrable_by(self, user) -> bool:
        """Whether the user may register an incident here now. Free for a location read
        through ``Location.objects.registrable_by(user)`` (the form and the API read it so);
        any other location object is checked in the database, since it may be stale."""
        if getattr(self, "registrable_for", None) == user.pk:
            return True
        return type(self).objects.registrable_by(user).filter(pk=self.pk).exists()


# --- People --------------------------------------------------------------------------------


class Membership(models.Model):
    """A user's role: registrar or coordinator *of an institution*, or researcher (sector-wide,
    no institution)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        related_name="memberships",
        null=True,
        blank=True,
        verbose_name=_("instelling"),
    )
    role = models.CharField(_("rol"), max_length=20, choices=Role.choices)
    # Preselected in the registration form for staff who always work at one location.
    default_location = models.ForeignKey(
        Location,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("vaste vestiging"),
    )
    # Researchers only: an administrator may grant access to BRIN codes instead of pseudonyms.
    named_access = models.BooleanField(_("ziet BRIN-codes"), default=False)

    class Meta:
        verbose_name = _("lidmaatschap")
        verbose_name_plural = _("lidmaatschappen")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "institution"],
                condition=Q(institution__isnull=False),
                name="membership_one_role_per_institution",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(institution__isnull=True),
                name="membership_one_sector_role",
            ),
            models.CheckConstraint(
                condition=(Q(role=Role.RESEARCHER) & Q(institution__isnull=True))
                | (~Q(role=Role.RESEARCHER) & Q(institution__isnull=False)),
                name="membership_researcher_has_no_institution",
            ),
        ]

    def __str__(self) -> str:
        where = self.institution.brin if self.institution_id else _("sector")
        return f"{self.user} - {self.get_role_display()} ({where})"

    def clean(self) -> None:
        if self.role == Role.RESEARCHER and self.institution_id:
            raise ValidationError({"institution": _("Een onderzoeker hoort bij geen instelling.")})
        if self.role != Role.RESEARCHER and not self.institution_id:
            raise ValidationError({"institution": _("Kies de instelling van deze rol.")})
        if self.default_location_id and self.default_location.institution_id != self.institution_id:
            raise ValidationError(
                {"default_location": _("De vestiging hoort niet bij deze instelling.")}
            )


# --- Incidents -----------------------------------------------------------------------------


class IncidentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one place that decides which incidents a user may see.

        Coordinators see every incident of their institutions, registrars the ones they
        registered themselves, administrators all; researchers and anonymous users none.
        """
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if is_administrator(user):
            return self
        coordinated = _role_institutions(user, Role.COORDINATOR)
        registering = [
            pk for pk in _role_institutions(user, Role.REGISTRAR) if pk not in coordinated
        ]
        # One plain condition for the usual single role, so the list uses its index; the OR
        # only for someone who coordinates one institution and registers at another.
        own = Q(institution__in=registering, registered_by=user)
        if not coordinated:
            return self.filter(own)
        if not registering:
            return self.filter(institution__in=coordinated)
        return self.filter(Q(institution__in=coordinated) | own)

    def editable_by(self, user):
        """Incidents the user may change, close and withdraw: coordinators' own institution."""
        if is_administrator(user):
            return self
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        return self.filter(institution__in=_role_institutions(user, Role.COORDINATOR))

    def counted(self):
        """Incidents that count in figures: everything except withdrawn registrations."""
        return self.exclude(status=Status.WITHDRAWN)


class Incident(models.Model):
    """One registered incident at a location of an institution.

    ``description``, ``measures`` and ``reporter_note`` may hold personal data (AVG): only
    the institution's coordinators (and the registrar who reported it) can read them; they
    are anonymised after the retention period.
    """

    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="incidents",
        editable=False,
        verbose_name=_("instelling"),
    )  # copied from the location, so scoping and figures need no join
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("vestiging")
    )
    incident_type = models.ForeignKey(
        IncidentType,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("type incident"),
    )
    taxonomy_version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.PROTECT, editable=False, verbose_name=_("versie indeling")
    )
    occurred_on = models.DateField(_("datum"))
    occurred_at = models.TimeField(_("tijd"), null=True, blank=True)
    school_year = models.CharField(_("schooljaar"), max_length=9, editable=False, db_index=True)
    place = models.CharField(_("plek"), max_length=20, choices=Place.choices, blank=True)
    victim_role = models.CharField(_("slachtoffer"), max_length=10, choices=VictimRole.choices)
    perpetrator_role = models.CharField(
        _("dader"), max_length=10, choices=PerpetratorRole.choices, default=PerpetratorRole.UNKNOWN
    )
    injury = models.CharField(
        _("letsel"), max_length=10, choices=Injury.choices, default=Injury.UNKNOWN
    )  # not recorded is "unknown", never "no injury" (that would bias the figures)
    police_involved = models.BooleanField(_("politie betrokken"), default=False)
    measures = models.TextField(_("genomen maatregelen"), blank=True, max_length=TEXT_MAX_LENGTH)
    description = models.TextField(_("beschrijving"), blank=True, max_length=TEXT_MAX_LENGTH)
    # What the reporter reads in "Mijn meldingen" once the incident is closed; separate from
    # the internal ``measures``. Personal data like the description (AVG).
    reporter_note = models.TextField(
        _("bericht aan de melder"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    external_id = models.CharField(_("extern nummer"), max_length=100, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="registered_incidents",
        verbose_name=_("geregistreerd door"),
    )
    created_at = models.DateTimeField(_("geregistreerd op"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)
    anonymised_at = models.DateTimeField(
        _("geanonimiseerd op"), null=True, blank=True, editable=False
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidenten")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "external_id"],
                condition=~Q(external_id=""),
                name="incident_external_id_unique_per_institution",
                violation_error_code="duplicate_external_id",
                violation_error_message=_(
                    "Er is al een incident met dit externe nummer bij deze instelling."
                ),
            )
        ]
        indexes = [
            # The figures job groups one school year by institution and type.
            models.Index(
                fields=["school_year", "institution", "incident_type", "victim_role"],
                name="incident_figures_idx",
            ),
            # The list: one institution, newest first, in the list's order (so a page is
            # read from the index without sorting).
            models.Index(fields=["institution", "-occurred_on", "-id"], name="incident_list_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        if self.location_id and not self.institution_id:
            self.institution_id = self.location.institution_id
        if self.occurred_on:
            self.school_year = school_year_of(self.occurred_on)
        if not self.taxonomy_version_id:
            # Read with the type where the caller asked for it (with_current_version()).
            version_id = (
                getattr(self.incident_type, "current_version_id", None)
                if Incident.incident_type.is_cached(self)
                else None
            )
            if version_id:
                self.taxonomy_version_id = version_id
            else:
                self.taxonomy_version = TaxonomyVersion.current()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, list] = {}
        previous = (
            Incident.objects.filter(pk=self.pk)
            .values("incident_type_id", "location_id", "occurred_on")
            .first()
            if self.pk
            else None
        )
        if self.occurred_on:
            today = timezone.localdate()
            if self.occurred_on > today:
                errors.setdefault("occurred_on", []).append(_("De datum ligt in de toekomst."))
            elif self.occurred_on < EARLIEST_INCIDENT_DATE:
                errors.setdefault("occurred_on", []).append(_("De datum ligt vóór 1 januari 2000."))
        # A type or location retired after registration may stay on an old incident; only a
        # new choice must be active.
        if self.incident_type_id and (
            previous is None or previous["incident_type_id"] != self.incident_type_id
        ):
            if not self.incident_type.active:
                errors.setdefault("incident_type", []).append(
                    _("Dit type incident is vervallen; kies een actief type.")
                )
        if self.location_id and (previous is None or previous["location_id"] != self.location_id):
            location = self.location
            if not location.active or not location.institution.active:
                errors.setdefault("location", []).append(_("Deze vestiging is niet actief."))
            if self.institution_id and location.institution_id != self.institution_id:
                errors.setdefault("location", []).append(
                    _("Een incident kan niet naar een andere instelling verhuizen.")
                )
        # A TextField's max_length is not checked by full_clean(); services and imports
        # must refuse oversized text just like the form and the API do.
        for name, limit in (
            ("description", TEXT_MAX_LENGTH),
            ("measures", TEXT_MAX_LENGTH),
            ("reporter_note", NOTE_MAX_LENGTH),
        ):
            if len(getattr(self, name) or "") > limit:
                errors.setdefault(name, []).append(_("Maximaal %(max)d tekens.") % {"max": limit})
        if errors:
            raise ValidationError(errors)

    @property
    def reference(self) -> str:
        """The short reference shown to the registrar and used on the phone."""
        return f"MIV-{self.pk:06d}" if self.pk else "MIV-(nieuw)"


class IncidentEvent(models.Model):
    """The history (audit trail) of an incident: who did what, when, and which fields changed.

    The content of personal-data fields is never copied here; a change to them is recorded
    as masked (``***``).
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(_("actie"), max_length=12, choices=EventAction.choices)
    changes = models.JSONField(_("wijzigingen"), default=dict, blank=True)
    at = models.DateTimeField(_("tijdstip"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("gebeurtenis")
        verbose_name_plural = _("historie")

    def __str__(self) -> str:
        return f"{self.incident} {self.action} {self.at:%Y-%m-%d %H:%M}"


class IdempotencyRecord(models.Model):
    """The stored answer to a POST made with an idempotency key, replayed on a retry.

    The unique constraint is also the lock: a second request with the same key waits on
    the first one's uncommitted row and then replays its answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


# --- Imports (data onboarding) -------------------------------------------------------------


class LabelMapping(models.Model):
    """How an institution's own incident labels (from TOPdesk, Excel registers, ...) map
    onto the taxonomy: ``source_label`` is one label or several joined by `` > ``
    (e.g. ``Agressie > Fysiek``). Stored per institution, so the next import reuses it;
    coordinators edit it in the web UI. ``key`` is the label normalised for matching
    (case, accents and spacing ignored)."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        related_name="label_mappings",
        verbose_name=_("instelling"),
    )
    source_label = models.CharField(_("eigen label"), max_length=500)
    key = models.CharField(max_length=500, editable=False)
    incident_type = models.ForeignKey(
        IncidentType,
        on_delete=models.PROTECT,
        related_name="label_mappings",
        verbose_name=_("type incident"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False
    )
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)

    class Meta:
        ordering = ["institution", "source_label"]
        verbose_name = _("labelkoppeling")
        verbose_name_plural = _("labelkoppelingen")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "key"], name="label_mapping_once_per_institution"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_label} -> {self.incident_type.code}"

    def save(self, *args, **kwargs):
        from miv.csvfiles import label_key

        self.source_label = " ".join(self.source_label.split())
        self.key = label_key(self.source_label)
        super().save(*args, **kwargs)


class ImportJobQuerySet(JobQuerySet):
    def visible_to(self, user):
        """Import jobs a user may see: administrators all; coordinators the incident
        imports of their own institutions. Enrolment and score imports are sector data,
        for administrators only."""
        if is_administrator(user):
            return self
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        return self.filter(
            kind=ImportKind.INCIDENTS,
            institution__in=_role_institutions(user, Role.COORDINATOR),
        )


def _import_upload_path(instance: "ImportJob", filename: str) -> str:
    # A random name: the original file name may hold personal data and must not become a
    # path on disk that anyone could guess.
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    return f"imports/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{suffix}"


class ImportJob(Job):
    """One uploaded file on its way in (a :class:`miv.models.Job`): checked in a
    background task (a dry run with a summary and every error), then imported, again in
    the background, only after the uploader confirms. The file is deleted once it is
    imported or the job is cancelled."""

    kind = models.CharField(_("soort"), max_length=12, choices=ImportKind.choices)
    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        related_name="import_jobs",
        null=True,
        blank=True,
        verbose_name=_("instelling"),
    )
    file = models.FileField(_("bestand"), upload_to=_import_upload_path, blank=True)
    original_name = models.CharField(_("bestandsnaam"), max_length=255)
    options = models.JSONField(_("opties"), default=dict, blank=True)
    summary = models.JSONField(_("samenvatting"), default=dict, blank=True)
    errors = models.JSONField(_("fouten"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("aantal fouten"), default=0)
    validated_at = models.DateTimeField(_("gecontroleerd op"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=ImportKind.INCIDENTS) | Q(institution__isnull=False),
                name="import_job_incidents_have_institution",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name} ({self.get_status_display()})"

    # An import's requester is its uploader, and its error a message to the uploader.
    @property
    def uploaded_by(self):
        return self.requested_by

    @uploaded_by.setter
    def uploaded_by(self, user) -> None:
        self.requested_by = user

    @property
    def message(self) -> str:
        return self.error
