"""State changes of incidents: register, change, close, withdraw, anonymise.

Every function is atomic, validates through ``Incident.full_clean()`` (the same rules
as form, admin and API), writes an :class:`IncidentEvent`, and tells listeners (the
figures) after commit.

Privacy by design (AVG): :func:`apply_retention` (the nightly task) blanks descriptions,
measures and notes to the reporter (``PERSONAL_TEXT_FIELDS``) once the retention period has
passed, and :func:`search_personal_data` /
:func:`erase_personal_data` serve a data-subject request. Both also clean the places that
keep a copy of those texts (the stored answers of idempotent POSTs, import errors).

Size (just over 500 lines): every state change of an incident (register, change,
close, withdraw, anonymise, retention, erasure), each atomic with its audit event, so a
reviewer finds every write in one module.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from miv.errors import DomainError

from .choices import EventAction, Status
from .columns import AUDITED, audit_snapshot
from .models import (
    NOTE_MAX_LENGTH,
    IdempotencyRecord,
    ImportJob,
    Incident,
    IncidentEvent,
)
from .notifications import queue_closed_notice
from .signals import incidents_changed

logger = logging.getLogger(__name__)

# Free texts that may hold personal data (AVG): searched, exported and erased on a
# data-subject request, blanked after the retention period.
PERSONAL_TEXT_FIELDS = ("description", "measures", "reporter_note")
# Personal data: a change is recorded, its content never.
MASKED_FIELDS = set(PERSONAL_TEXT_FIELDS)
MASK = "***"
# The audited fields, defined with the incident's columns (codes, ISO dates).
AUDITED_FIELDS = [column.name for column in AUDITED]


def _snapshot(incident: Incident) -> dict:
    return audit_snapshot(incident, AUDITED)


def _masked(field: str, value):
    return (MASK if value else "") if field in MASKED_FIELDS else value


def _diff(before: dict, after: dict) -> dict:
    """Changed fields as ``{field: [old, new]}``; personal data only as ``***``."""
    return {
        field: [_masked(field, before[field]), _masked(field, after[field])]
        for field in AUDITED_FIELDS
        if before[field] != after[field]
    }


def notify_incidents_changed(school_years: Iterable[str]) -> None:
    """Tell the listeners (the figures) which school years changed, from inside the
    transaction that changed them, so that their bookkeeping (marking the figures stale)
    commits together with the change: one commit per registration. Listeners defer
    whatever leaves the database (a task message) with ``transaction.on_commit``.

    A failing listener (a bug, a broken connection) must not turn a registration into an
    error page: ``send_robust`` catches it and it is logged; the figures catch up with the
    nightly run. Listeners that write to the database do so in a savepoint, so their
    failure leaves this transaction usable.
    """
    years = set(school_years)
    for receiver, result in incidents_changed.send_robust(sender=Incident, school_years=years):
        if isinstance(result, Exception):
            # Receivers get school years only, so the error holds no personal data.
            logger.error(
                "incidents_changed listener %s failed for %s",
                getattr(receiver, "__qualname__", receiver),
                ", ".join(sorted(years)),
                exc_info=result,
            )


def _related_already_loaded(instance) -> list[str]:
    """Foreign keys whose object is already loaded: ``full_clean`` would look each of them
    up again only to learn that it exists (the database's foreign keys hold that anyway)."""
    return [
        field.name
        for field in instance._meta.concrete_fields
        if field.is_relation and field.is_cached(instance)
    ]


class DuplicateExternalId(DomainError):
    """Another incident of the institution already has this external id (a system that
    synchronises on it gets the existing incident's reference and can carry on)."""

    code = "duplicate_external_id"

    def __init__(self, existing: Incident):
        super().__init__(
            _("Er is al een incident met extern nummer '%(external_id)s': %(reference)s.")
            % {"external_id": existing.external_id, "reference": existing.reference},
            existing={"id": existing.pk, "reference": existing.reference},
        )
        self.existing = existing


def _holder_of_external_id(incident: Incident) -> Incident | None:
    if not incident.external_id or not incident.institution_id:
        return None
    return (
        Incident.objects.filter(
            institution_id=incident.institution_id, external_id=incident.external_id
        )
        .exclude(pk=incident.pk)
        .first()
    )


def _validate_and_save(incident: Incident, *, exclude: list[str] | None = None) -> None:
    """``full_clean()`` (``exclude``: foreign keys already loaded, whose existence need not
    be looked up again), then the external id as a conflict (409) rather than a broken
    constraint, also when a concurrent request saved the same id first. The external id
    is the only constraint, so without one the row is saved straight away."""
    incident.full_clean(exclude=exclude, validate_constraints=False)
    if not incident.external_id:
        incident.save()
        return
    existing = _holder_of_external_id(incident)
    if existing is not None:
        raise DuplicateExternalId(existing)
    incident.validate_constraints()
    try:
        with transaction.atomic():
            incident.save()
    except IntegrityError:
        existing = _holder_of_external_id(incident)
        if existing is None:
            raise
        raise DuplicateExternalId(existing) from None


def record_event(incident: Incident, *, actor, action: str, changes: dict | None = None):
    return IncidentEvent.objects.create(
        incident=incident, actor=actor, action=action, changes=changes or {}
    )


def register_incident(*, actor, incident: Incident) -> Incident:
    """Validate and save a new incident registered by ``actor``. Without an actor it is a
    registration by the system (a command, provisioning), which may use any location."""
    with transaction.atomic():
        location = incident.location if incident.location_id else None
        # The form and the API offer only these locations; this holds for every caller.
        if actor is not None and location is not None and not location.is_registrable_by(actor):
            raise ValidationError(
                {"location": _("U kunt op deze vestiging geen incidenten registreren.")}
            )
        incident.registered_by = actor if actor and actor.is_authenticated else None
        if location is not None:
            incident.institution = location.institution
        _validate_and_save(incident, exclude=_related_already_loaded(incident))
        empty = dict.fromkeys(AUDITED_FIELDS)
        changes = {k: v for k, v in _diff(empty, _snapshot(incident)).items() if v[1] != ""}
        record_event(
            incident, actor=incident.registered_by, action=EventAction.CREATED, changes=changes
        )
        notify_incidents_changed([incident.school_year])
    return incident


def update_incident(*, actor, incident: Incident, changes: dict) -> Incident:
    """Apply ``changes`` (field -> value) to an incident that is not withdrawn."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == Status.WITHDRAWN:
            raise DomainError(
                _("Een ingetrokken incident kan niet meer worden gewijzigd."),
                code="incident_withdrawn",
            )
        before = _snapshot(incident)
        old_year = incident.school_year
        for field, value in changes.items():
            setattr(incident, field, value)
        _validate_and_save(incident)
        diff = _diff(before, _snapshot(incident))
        if diff:
            record_event(incident, actor=actor, action=EventAction.CHANGED, changes=diff)
            notify_incidents_changed({old_year, incident.school_year})
    return incident


def _transition(
    *,
    actor,
    incident: Incident,
    to: str,
    allowed_from: set,
    action: str,
    reporter_note: str | None = None,
) -> Incident:
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status not in allowed_from:
            raise DomainError(
                _("Dit incident heeft status '%(status)s' en kan niet naar '%(to)s'.")
                % {"status": incident.get_status_display(), "to": Status(to).label},
                code="invalid_status",
            )
        old = incident.status
        incident.status = to
        changes = {"status": [old, to]}
        fields = ["status", "updated_at"]
        if reporter_note is not None and reporter_note != incident.reporter_note:
            changes["reporter_note"] = [
                _masked("reporter_note", incident.reporter_note),
                _masked("reporter_note", reporter_note),
            ]
            incident.reporter_note = reporter_note
            fields.append("reporter_note")
        incident.save(update_fields=fields)
        record_event(incident, actor=actor, action=action, changes=changes)
        notify_incidents_changed([incident.school_year])
    return incident


def close_incident(*, actor, incident: Incident, reporter_note: str = "") -> Incident:
    """Mark an open incident as handled, with an optional note for the reporter (shown in
    "Mijn meldingen"). The reporter gets an e-mail with a link, after commit, in a worker."""
    reporter_note = (reporter_note or "").strip()
    if len(reporter_note) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {"reporter_note": _("Maximaal %(max)d tekens.") % {"max": NOTE_MAX_LENGTH}}
        )
    incident = _transition(
        actor=actor,
        incident=incident,
        to=Status.CLOSED,
        allowed_from={Status.OPEN},
        action=EventAction.CLOSED,
        reporter_note=reporter_note,
    )
    queue_closed_notice(incident, actor=actor)
    return incident


def withdraw_incident(*, actor, incident: Incident) -> Incident:
    """Withdraw a registration made in error. It is kept, but no longer counts in figures."""
    return _transition(
        actor=actor,
        incident=incident,
        to=Status.WITHDRAWN,
        allowed_from={Status.OPEN, Status.CLOSED},
        action=EventAction.WITHDRAWN,
    )


def _blanked(*texts: str) -> dict:
    """The audit record of an anonymisation: which fields were blanked, content masked.
    ``texts`` are the values of ``PERSONAL_TEXT_FIELDS``, in that order."""
    pairs = zip(PERSONAL_TEXT_FIELDS, texts, strict=True)
    return {field: [MASK, ""] for field, text in pairs if text}


def _has_personal_text(incident: Incident) -> bool:
    return any(getattr(incident, field) for field in PERSONAL_TEXT_FIELDS)


def anonymise_incident(*, actor, incident: Incident, action: str = EventAction.ANONYMISED) -> bool:
    """Blank the personal-data fields of one incident (retention or a data-subject request),
    and the copies of them kept elsewhere. False when there was nothing left to do."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.anonymised_at and not _has_personal_text(incident):
            return False
        changes = _blanked(*(getattr(incident, field) for field in PERSONAL_TEXT_FIELDS))
        for field in PERSONAL_TEXT_FIELDS:
            setattr(incident, field, "")
        incident.anonymised_at = timezone.now()
        incident.save(update_fields=[*PERSONAL_TEXT_FIELDS, "anonymised_at", "updated_at"])
        record_event(incident, actor=actor, action=action, changes=changes)
        _scrub_audit_copies([incident.pk])
        _blank_idempotency_copies([incident.pk])
    return True


# --- Privacy by design: retention and data-subject requests ---------------------------------

# Stored answers of idempotent POSTs (incl. the description) are kept this long: long enough
# for any client retry, short enough not to become a second copy of the registrations.
DEFAULT_IDEMPOTENCY_KEEP_DAYS = 7
RETENTION_BATCH = 500
# A data-subject search shows at most this many incidents (the coordinator narrows the term).
MAX_SEARCH_RESULTS = 500


def retention_years() -> int:
    years = int(getattr(settings, "MIV_RETENTION_YEARS", 5))
    if years < 1:
        raise ValueError("MIV_RETENTION_YEARS must be at least 1")
    return years


def retention_cutoff(today: date | None = None, years: int | None = None) -> date:
    """Incidents that happened *before* this date are past the retention period.

    An incident of exactly ``years`` years ago today is kept until tomorrow. On 29 February
    the cutoff of a year without one is 1 March, so that 28 February of that year (whose
    anniversary was yesterday) is already past it.
    """
    today = today or timezone.localdate()
    years = retention_years() if years is None else years
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return date(today.year - years, 3, 1)


def _masked_copy(field: str, value):
    """``value`` as the audit trail may hold it: personal-data fields only as ``***``."""
    if field not in MASKED_FIELDS:
        return value
    if isinstance(value, list | tuple):
        return [_masked_copy(field, item) for item in value]
    return value if value in (None, "", MASK) else MASK


def _scrub_audit_copies(incident_ids: Iterable[int]) -> int:
    """Mask any personal text (description, measures, note) in the events of these incidents.

    The services and the importer never store the content (only ``***``), so normally this
    finds nothing; it guards against events written before that rule or by other means.
    Returns the number of events changed.
    """
    changed = 0
    events = IncidentEvent.objects.filter(incident_id__in=list(incident_ids)).filter(
        _has_any_key("changes", PERSONAL_TEXT_FIELDS)
    )
    for event in events.iterator():
        if not isinstance(event.changes, dict):
            continue
        scrubbed = {field: _masked_copy(field, value) for field, value in event.changes.items()}
        if scrubbed != event.changes:
            IncidentEvent.objects.filter(pk=event.pk).update(changes=scrubbed)
            changed += 1
    return changed


def _has_any_key(json_field: str, keys: Iterable[str]) -> Q:
    query = Q()
    for key in keys:
        query |= Q(**{f"{json_field}__has_key": key})
    return query


def _blank_idempotency_copies(incident_ids: Iterable[int]) -> int:
    """Blank the description and measures in stored API answers about these incidents (an
    ``Idempotency-Key`` retry replays the incident as it is now, without the texts)."""
    changed = 0
    records = IdempotencyRecord.objects.filter(body__id__in=list(incident_ids)).filter(
        _has_any_key("body", PERSONAL_TEXT_FIELDS)
    )
    for record in records.iterator():
        body = dict(record.body)
        for field in MASKED_FIELDS:
            if body.get(field):
                body[field] = ""
        if body != record.body:
            IdempotencyRecord.objects.filter(pk=record.pk).update(body=body)
            changed += 1
    return changed


def idempotency_keep_days() -> int:
    return int(getattr(settings, "MIV_IDEMPOTENCY_KEEP_DAYS", DEFAULT_IDEMPOTENCY_KEEP_DAYS))


def purge_idempotency_records(*, now: datetime | None = None) -> int:
    """Delete stored idempotent answers older than ``MIV_IDEMPOTENCY_KEEP_DAYS``."""
    cutoff = (now or timezone.now()) - timedelta(days=idempotency_keep_days())
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def purge_expired_import_data(cutoff: date) -> int:
    """Import jobs uploaded before ``cutoff``: drop their row errors (which quote cells of
    the file) and any file still on disk. The summary (counts, labels) stays."""
    count = 0
    old = ImportJob.objects.filter(created_at__lt=_start_of_day(cutoff)).filter(
        ~Q(errors=[]) | ~Q(file="")
    )
    for job in old.iterator():
        if job.file:
            job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(errors=[], file="")
        count += 1
    return count


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run did (numbers only: this is logged and returned by the task)."""

    cutoff: date
    incidents: int
    audit_events: int
    idempotency_records: int
    import_jobs: int

    def as_dict(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "incidents": self.incidents,
            "audit_events": self.audit_events,
            "idempotency_records": self.idempotency_records,
            "import_jobs": self.import_jobs,
        }


def anonymise_expired_incidents(
    *, today: date | None = None, batch_size: int = RETENTION_BATCH
) -> tuple[date, int, int]:
    """Blank description, measures and the note to the reporter of every incident that
    happened before the retention cutoff, in batches (each its own short transaction, so
    registrations go on meanwhile).

    Idempotent: an incident without text is not touched again, and only incidents that had
    text get an ``anonymised`` event. Returns ``(cutoff, incidents, audit events scrubbed)``.
    """
    cutoff = retention_cutoff(today)
    with_text = Incident.objects.filter(occurred_on__lt=cutoff).exclude(
        **dict.fromkeys(PERSONAL_TEXT_FIELDS, "")
    )
    incidents = scrubbed = 0
    while True:
        with transaction.atomic():
            rows = list(
                with_text.select_for_update()
                .order_by("pk")
                .values_list("pk", *PERSONAL_TEXT_FIELDS)[:batch_size]
            )
            if not rows:
                break
            ids = [pk for pk, *_texts in rows]
            now = timezone.now()
            Incident.objects.filter(pk__in=ids).update(
                **dict.fromkeys(PERSONAL_TEXT_FIELDS, ""), anonymised_at=now, updated_at=now
            )
            IncidentEvent.objects.bulk_create(
                IncidentEvent(
                    incident_id=pk,
                    actor=None,
                    action=EventAction.ANONYMISED,
                    changes=_blanked(*texts),
                    at=now,
                )
                for pk, *texts in rows
            )
            scrubbed += _scrub_audit_copies(ids)
            _blank_idempotency_copies(ids)
            incidents += len(ids)
    return cutoff, incidents, scrubbed


def apply_retention(*, today: date | None = None, now: datetime | None = None) -> RetentionResult:
    """The nightly privacy run: anonymise expired incidents (and their copies), purge old
    idempotent answers and the row errors of old imports. Safe to run any number of times."""
    cutoff, incidents, scrubbed = anonymise_expired_incidents(today=today)
    result = RetentionResult(
        cutoff=cutoff,
        incidents=incidents,
        audit_events=scrubbed,
        idempotency_records=purge_idempotency_records(now=now),
        import_jobs=purge_expired_import_data(cutoff),
    )
    logger.info("retention run: %s", result.as_dict())
    return result


def normalise_search_term(term: str) -> str:
    return " ".join(term.split())


def search_personal_data(user, term: str) -> QuerySet:
    """Incidents the user may change (a coordinator: their institutions) whose description,
    measures or note to the reporter mention ``term`` (case-insensitive): what a
    data-subject request concerns."""
    term = normalise_search_term(term)
    if not term:
        return Incident.objects.none()
    mentions = Q()
    for field in PERSONAL_TEXT_FIELDS:
        mentions |= Q(**{f"{field}__icontains": term})
    return (
        Incident.objects.editable_by(user)
        .filter(mentions)
        .select_related("institution", "location", "incident_type")
        .order_by("-occurred_on", "-id")
    )


def erase_personal_data(*, actor, incidents: Iterable[Incident]) -> int:
    """Erase description, measures and note of ``incidents`` on a data-subject request (recorded
    as ``erased``). The caller has scoped them to what ``actor`` may change. Returns how
    many incidents had something left to erase."""
    return sum(
        anonymise_incident(actor=actor, incident=incident, action=EventAction.ERASED)
        for incident in incidents
    )
