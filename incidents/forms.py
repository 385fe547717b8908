"""Forms of the incident web pages: the registration form for staff on location, the
coordinators' edit form, and the type picker (category -> subcategory -> type, plus search).

Validation is the model's (``Incident.clean()``, run by the ModelForm and again by the
service functions); these forms only decide what may be chosen (scoped querysets) and how
the choice is presented.
"""

import re
import secrets
import unicodedata
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from taxonomy.models import Category, IncidentType, Subcategory

from .choices import Injury, PerpetratorRole, VictimRole
from .models import NOTE_MAX_LENGTH, Incident, Location
from .roles import memberships_of

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SEARCH_MAX_LENGTH = 100


def new_submission_token() -> str:
    """A one-time token for one rendering of the registration form (double-submit guard)."""
    return secrets.token_urlsafe(24)


def _fold(text: str) -> str:
    """Lower case without accents, so 'coördinator' matches 'coordinator'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# --- The type picker -----------------------------------------------------------------------


@dataclass
class TypeGroup:
    """The types of one subcategory (or of a category without subcategories)."""

    label: str
    types: list[IncidentType]


@dataclass
class TypePicker:
    """What the type picker shows for a search text, category and subcategory.

    The taxonomy is small (75 types), so the search runs in Python over the names in both
    languages: case and accents are ignored on every database alike.
    """

    categories: list[Category]
    subcategories: list[Subcategory]
    groups: list[TypeGroup]
    q: str = ""
    category: str = ""
    subcategory: str = ""
    selected: str = ""
    searched: bool = False
    match_count: int = 0
    no_match: bool = False

    @classmethod
    def build(cls, types, *, q="", category="", subcategory="", selected="") -> "TypePicker":
        q = (q or "").strip()[:SEARCH_MAX_LENGTH]
        all_types = sorted(
            types.select_related("category", "subcategory"),
            key=lambda t: (
                t.category.sort_order,
                t.category.code,
                t.subcategory.sort_order if t.subcategory_id else 0,
                t.subcategory.code if t.subcategory_id else "",
                t.sort_order,
                t.code,
            ),
        )
        categories = list({t.category.code: t.category for t in all_types}.values())
        if category not in {c.code for c in categories}:
            category = ""
        in_category = [t for t in all_types if not category or t.category.code == category]
        # Subcategories are offered once a category is chosen: category -> subcategory -> type.
        subcategories = list(
            {t.subcategory.code: t.subcategory for t in in_category if t.subcategory_id}.values()
        )
        if not category:
            subcategories = []
        if subcategory not in {s.code for s in subcategories}:
            subcategory = ""
        narrowed = [
            t
            for t in in_category
            if not subcategory or (t.subcategory_id and t.subcategory.code == subcategory)
        ]
        shown = narrowed
        words = _fold(q).split()
        no_match = False
        if words:
            shown = [t for t in narrowed if all(w in cls._haystack(t) for w in words)]
            if not shown:
                # Nothing found: offer the whole (narrowed) list rather than an empty one.
                no_match, shown = True, narrowed
        codes = {t.code for t in shown}
        if selected not in codes:
            selected = ""
        if not selected and len(shown) == 1:
            selected = shown[0].code
        return cls(
            categories=categories,
            subcategories=subcategories,
            groups=cls._group(shown),
            q=q,
            category=category,
            subcategory=subcategory,
            selected=selected,
            searched=bool(words),
            match_count=0 if no_match else len(shown),
            no_match=no_match,
        )

    @staticmethod
    def _haystack(t: IncidentType) -> str:
        names = [t.name_nl, t.name_en, t.category.name_nl, t.category.name_en]
        if t.subcategory_id:
            names += [t.subcategory.name_nl, t.subcategory.name_en]
        return _fold(" ".join(names))

    @staticmethod
    def _group(shown: list[IncidentType]) -> list[TypeGroup]:
        groups: dict[tuple, TypeGroup] = {}
        for t in shown:
            key = (t.category.code, t.subcategory.code if t.subcategory_id else "")
            if key not in groups:
                label = t.category.name
                if t.subcategory_id:
                    label = f"{t.category.name} › {t.subcategory.name}"
                groups[key] = TypeGroup(label=label, types=[])
            groups[key].types.append(t)
        return list(groups.values())

    @property
    def status(self) -> str:
        """The result of a search, announced to screen readers (a live region)."""
        if not self.searched:
            return ""
        if self.no_match:
            return _("Geen type gevonden voor ‘%(q)s’. Kies uit de lijst of zoek anders.") % {
                "q": self.q
            }
        return ngettext(
            "%(count)d type gevonden voor ‘%(q)s’.",
            "%(count)d typen gevonden voor ‘%(q)s’.",
            self.match_count,
        ) % {"count": self.match_count, "q": self.q}


def picker_params(data) -> dict[str, str]:
    """The picker's state from a GET or POST: search text, category, subcategory, type."""
    return {
        "q": str(data.get("type_q", "")).replace("\x00", ""),
        "category": str(data.get("type_category", "")),
        "subcategory": str(data.get("type_subcategory", "")),
        "selected": str(data.get("incident_type", "")),
    }


def selectable_types():
    """Types a new registration may use: the active ones."""
    return IncidentType.objects.filter(active=True)


# --- The incident form ---------------------------------------------------------------------


class ErrorSummaryMixin:
    """An error summary at the top of the form: each message links to its field."""

    def error_summary(self) -> list[dict]:
        items = [{"anchor": "", "label": "", "message": e} for e in self.non_field_errors()]
        for bound in (self[name] for name in self.fields if name in self.errors):
            if bound.is_hidden:
                items += [{"anchor": "", "label": "", "message": e} for e in bound.errors]
                continue
            anchor = bound.auto_id
            if isinstance(bound.field.widget, forms.RadioSelect):
                anchor = f"{anchor}_0"  # the first radio button of the group
            items += [{"anchor": anchor, "label": bound.label, "message": e} for e in bound.errors]
        return items


# Answers that feed the figures: never preselected on a new registration. The registrar
# picks one; "Onbekend" is an explicit choice.
FIGURE_FIELDS = ("incident_type", "victim_role", "perpetrator_role", "injury")
# Fields folded under "Meer details" on the registration form (all optional).
DETAIL_FIELDS = ("police_involved", "description", "measures")


class IncidentForm(ErrorSummaryMixin, forms.ModelForm):
    """An incident as staff enter it. ``user`` decides which locations may be chosen."""

    incident_type = forms.ModelChoiceField(
        label=_("Type incident"),
        queryset=IncidentType.objects.none(),
        to_field_name="code",
        error_messages={"required": _("Kies het type incident.")},
    )

    class Meta:
        model = Incident
        fields = [
            "incident_type",
            "location",
            "occurred_on",
            "occurred_at",
            "place",
            "victim_role",
            "perpetrator_role",
            "injury",
            "police_involved",
            "description",
            "measures",
        ]
        labels = {
            "location": _("Vestiging"),
            "occurred_on": _("Datum"),
            "occurred_at": _("Tijd"),
            "place": _("Plek binnen de vestiging"),
            "victim_role": _("Wie was het slachtoffer?"),
            "perpetrator_role": _("Wie was de dader?"),
            "injury": _("Letsel"),
            "police_involved": _("De politie is erbij betrokken"),
            "description": _("Beschrijving"),
            "measures": _("Genomen maatregelen"),
        }
        help_texts = {
            "occurred_on": _("Niet in de toekomst."),
            "occurred_at": _("Als u die weet."),
            "description": _(
                "Wat is er gebeurd? Noem alleen namen als dat echt nodig is: alleen de "
                "veiligheidscoördinator van uw instelling kan deze tekst lezen."
            ),
        }
        widgets = {
            "occurred_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "occurred_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "victim_role": forms.RadioSelect,
            "perpetrator_role": forms.RadioSelect,
            "injury": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 5}),
            "measures": forms.Textarea(attrs={"rows": 3}),
        }
        error_messages = {
            "location": {"required": _("Kies de vestiging.")},
            "occurred_on": {
                "required": _("Vul de datum in."),
                "invalid": _("Vul een geldige datum in, bijvoorbeeld 14-03-2024."),
            },
            "occurred_at": {"invalid": _("Vul een geldige tijd in, bijvoorbeeld 13:45.")},
            "victim_role": {"required": _("Kies wie het slachtoffer was.")},
            "perpetrator_role": {"required": _("Kies wie de dader was (of ‘Onbekend’).")},
            "injury": {"required": _("Kies het letsel (of ‘Onbekend’).")},
        }

    def __init__(self, *args, user, picker: dict | None = None, **kwargs):
        given = dict(kwargs.get("initial") or {})
        super().__init__(*args, **kwargs)
        self.user = user
        self._picker_params = picker or {}
        instance = self.instance
        locations = Location.objects.registrable_by(user).select_related("institution")
        types = selectable_types()
        if instance.pk:
            # An incident stays at its institution; a location or type retired since it was
            # registered may stay on it.
            locations = Location.objects.filter(pk=instance.location_id) | locations.filter(
                institution_id=instance.institution_id
            )
            types = IncidentType.objects.filter(pk=instance.incident_type_id) | types
            # The picker names types by code; the model gives the primary key.
            if self.initial.get("incident_type") == instance.incident_type_id:
                self.initial["incident_type"] = instance.incident_type.code
        else:
            self.initial.setdefault("occurred_on", timezone.localdate())
            default = default_location(user, locations)
            if default is not None:
                self.initial.setdefault("location", default.pk)
            # No answer that feeds the figures is chosen for the registrar: the model's
            # defaults (the API's business) must not become a preselected radio button.
            for name in FIGURE_FIELDS:
                if name not in given:
                    self.initial.pop(name, None)
                self.fields[name].initial = None
        self.fields["location"].queryset = locations.distinct()
        self.fields["location"].empty_label = _("— kies de vestiging —")
        self.fields["incident_type"].queryset = types.distinct()
        self.fields["occurred_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        place = self.fields["place"]
        place.choices = [("", _("— niet bekend —")), *place.choices[1:]]
        # The radio groups list their choices without an empty "---------" option.
        for name, choices in (
            ("victim_role", VictimRole.choices),
            ("perpetrator_role", PerpetratorRole.choices),
            ("injury", Injury.choices),
        ):
            self.fields[name].choices = choices

    @cached_property
    def type_picker(self) -> TypePicker:
        params = self._picker_params
        if self.is_bound:
            selected = self.data.get("incident_type", "")
        else:
            selected = params.get("selected") or self.initial.get("incident_type") or ""
        return TypePicker.build(
            self.fields["incident_type"].queryset,
            q=params.get("q", ""),
            category=params.get("category", ""),
            subcategory=params.get("subcategory", ""),
            selected=str(selected),
        )

    @cached_property
    def type_options(self) -> list[dict]:
        """Every selectable type, grouped, for the search-as-you-type field (JavaScript):
        the search runs in the browser over these, so it works offline too."""
        return type_options(self.fields["incident_type"].queryset)

    @property
    def selected_type(self) -> IncidentType | None:
        code = self.type_picker.selected
        if not code:
            return None
        return self.fields["incident_type"].queryset.filter(code=code).first()

    @property
    def details_open(self) -> bool:
        """Unfold "Meer details" when one of its fields has input or an error."""
        if any(name in self.errors for name in DETAIL_FIELDS):
            return True
        if self.is_bound:
            return any(self.data.get(name) for name in DETAIL_FIELDS)
        return any(self.initial.get(name) for name in DETAIL_FIELDS)

    def model_fields_fingerprint(self) -> dict:
        """The cleaned values that make up the registration, for double-submit detection."""
        return {
            name: (value.pk if isinstance(value, Model) else value)
            for name, value in self.cleaned_data.items()
            if name in self._meta.fields
        }


class RegistrationForm(IncidentForm):
    """The registration form: an incident plus a one-time token against double submits."""

    submission_token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("submission_token", new_submission_token())

    def clean_submission_token(self) -> str:
        token = self.cleaned_data.get("submission_token", "")
        if not TOKEN_RE.match(token):
            raise ValidationError(
                _(
                    "Het formulier is niet volledig ontvangen. Controleer de gegevens en "
                    "verstuur het opnieuw."
                ),
                code="invalid_token",
            )
        return token

    @property
    def token_value(self) -> str:
        """The token to render: the one sent with this form when valid (a resubmit must
        reuse it), otherwise a fresh one."""
        sent = self.data.get("submission_token") if self.is_bound else None
        sent = str(sent or self.initial.get("submission_token") or "")
        return sent if TOKEN_RE.match(sent) else new_submission_token()


def type_options(types) -> list[dict]:
    """Types grouped by category (and subcategory), each with the folded text the browser
    searches: the names in both languages, as the server-side search does."""
    picker = TypePicker.build(types)
    return [
        {
            "label": group.label,
            "key": f"type-group-{n}",
            "types": [{"type": t, "search": TypePicker._haystack(t)} for t in group.types],
        }
        for n, group in enumerate(picker.groups)
    ]


def default_location(user, locations) -> Location | None:
    """The location to preselect: where the user registered last, else the user's fixed
    location, else the only one there is."""
    last = (
        Incident.objects.filter(registered_by=user, location__in=locations)
        .order_by("-pk")
        .values_list("location_id", flat=True)
        .first()
        if user and user.is_authenticated
        else None
    )
    if last is not None:
        return locations.filter(pk=last).first()
    for membership in memberships_of(user):
        if membership.default_location_id:
            found = locations.filter(pk=membership.default_location_id).first()
            if found is not None:
                return found
    candidates = list(locations[:2])
    return candidates[0] if len(candidates) == 1 else None


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Attach a model ``ValidationError`` raised by a service to the form's fields."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def style_filter_form(form: forms.Form, school_years: list[str] = ()) -> forms.Form:
    """Present the shared IncidentFilterSet's form for the HTML list: date pickers, "Alle"
    as the empty choice of every select, and the school years as a choice."""
    all_label = _("Alle")
    for form_field in form.fields.values():
        if getattr(form_field, "empty_label", None) is not None:
            form_field.empty_label = all_label
            # django-filter's choice fields gave their widget a list made at creation.
            form_field.widget.choices = form_field.choices
        elif isinstance(form_field, forms.ChoiceField):
            form_field.choices = [
                ("", all_label),
                *((value, label) for value, label in form_field.choices if value != ""),
            ]
    for name in ("occurred_after", "occurred_before"):
        if name in form.fields:
            form.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    if "school_year" in form.fields:
        field = form.fields["school_year"]
        field.help_text = ""
        current = str(form.data.get("school_year", "")) if form.is_bound else ""
        years = list(school_years)
        if current and current not in years:
            years.append(current)  # an asked-for year without incidents stays selectable
        field.widget = forms.Select(
            choices=[("", all_label), *((year, year) for year in sorted(years, reverse=True))]
        )
    return form


class CloseForm(forms.Form):
    """Closing an incident: an optional note for the reporter (shown in "Mijn meldingen")."""

    reporter_note = forms.CharField(
        label=_("Bericht aan de melder"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "De melder leest dit bij ‘Mijn meldingen’ en krijgt een e-mail met alleen een "
            "link. Schrijf kort wat er met de melding is gedaan, zonder namen; "
            "interne maatregelen horen bij ‘Genomen maatregelen’."
        ),
        error_messages={"max_length": _("Maximaal %(limit_value)d tekens.")},
    )
