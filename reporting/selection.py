"""The figure selection: the school year, group and victim role a reader asks figures for.

One serializer parses it for the figures API, the research API and the dashboards
(:func:`parse_selection`), and the same serializer documents these query parameters in
OpenAPI (drf-spectacular turns its fields into parameters), so what is parsed and what is
documented cannot drift apart.

Decisions:

* **Defaults**: the latest *complete* school year with figures
  (:func:`reporting.queries.latest_computed_year`: a running year's months are not
  comparable with whole years), group ``total``, victim role ``all``. An empty value is
  an error in the API (leave the parameter out for the default); a page leaves its empty
  fields out before parsing (``dashboards.parse_choice``).
* **Fixed combinations** (``fixed``): researchers, protected readers asking about other
  institutions (issue 11) and the dashboards get only the publication's groups and victim
  roles, so that no two of their questions overlap in a way that could be subtracted.
  Administrators, and coordinators about their own institution, may name any group of the
  taxonomy.
* **Errors** name the parameter and say why: a year written wrongly, an unknown group or
  role, a parameter given twice is :class:`InvalidSelection` (the API answers 400, a page
  re-displays with the message). A well-formed year without figures is
  :class:`NoFiguresForYear` with the years that have them (the API answers 404).

Limits: parameters a view does not take are refused by the view (``_check_names`` in
:mod:`reporting.api.views`); the serializer ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from miv.schoolyear import parse_school_year

from . import groups, protection, queries
from .choices import VictimGroup

SCHOOL_YEAR_PATTERN = r"^\d{4}-\d{4}$"


class InvalidSelection(ValueError):
    """A parameter that cannot be used; ``message`` says why."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


class NoFiguresForYear(LookupError):
    """No figures for the school year asked for (or none at all); ``school_years`` have them."""

    def __init__(self, message: str, school_years: list[str]):
        super().__init__(message)
        self.message = message
        self.school_years = school_years


BLANK = gettext_lazy("Lege waarde: geef een waarde op, of laat de parameter weg.")
INVALID_SCHOOL_YEAR = gettext_lazy(
    "Ongeldig schooljaar '%(value)s'; gebruik bijvoorbeeld 2022-2023."
)


class SelectionSerializer(serializers.Serializer):
    """School year, group and victim role of a figures request."""

    fixed = False  # only the publication's combinations (see the module's decisions)

    school_year = serializers.CharField(
        required=False,
        error_messages={"blank": BLANK},
        validators=[RegexValidator(SCHOOL_YEAR_PATTERN, message=INVALID_SCHOOL_YEAR)],
        help_text="School year, e.g. 2022-2023. Default: the latest complete year with figures.",
    )
    group = serializers.CharField(
        required=False,
        error_messages={"blank": BLANK},
        help_text=(
            "`total` (default), `misdragingen`, `ongevallen`, or a category, subcategory or "
            "incident type code of the taxonomy (e.g. `MIS`, `MIS.FYS`, `MIS.FYS.06`). "
            "Researchers, and coordinators asking about other institutions, get only "
            "`total`, `misdragingen`, `ongevallen` and the categories."
        ),
    )
    victim_role = serializers.ChoiceField(
        choices=VictimGroup.values,
        required=False,
        error_messages={
            "blank": BLANK,
            "invalid_choice": gettext_lazy(
                "Onbekende slachtofferrol '{input}'. Mogelijk: all, student, staff."
            ),
        },
        help_text="Whose incidents: `all` (default), `student` or `staff` victims.",
    )

    def is_fixed(self) -> bool:
        return self.fixed or bool(self.context.get("fixed"))

    def to_internal_value(self, data):
        # DRF reads an empty query value of an optional field as absent (form semantics);
        # the API says it is empty instead of quietly using the default.
        getlist = getattr(data, "getlist", lambda name: [data[name]] if name in data else [])
        for name in self.fields:
            values = getlist(name)
            if len(values) > 1:
                raise serializers.ValidationError(
                    {name: [_("Geef '%(name)s' één keer op.") % {"name": name}]}
                )
            if values and not str(values[0]).strip():
                raise serializers.ValidationError({name: [str(BLANK)]})
        return super().to_internal_value(data)

    def validate_school_year(self, value: str) -> str:
        if value:
            try:
                parse_school_year(value)
            except ValueError:
                raise serializers.ValidationError(INVALID_SCHOOL_YEAR % {"value": value}) from None
        return value

    def validate_group(self, value: str) -> groups.Group:
        code = value or groups.GROUP_TOTAL
        if self.is_fixed() and not protection.is_research_group(code):
            raise serializers.ValidationError(
                _(
                    "Alleen deze groepen worden over andere instellingen gepubliceerd: "
                    "%(groups)s. Subcategorieën en typen niet."
                )
                % {"groups": ", ".join(protection.research_groups())}
            )
        group = groups.resolve_group(code)
        if group is None:
            raise serializers.ValidationError(
                _(
                    "Onbekende groep '%(value)s'. Gebruik total, misdragingen, ongevallen of "
                    "een code uit de indeling."
                )
                % {"value": code[:40]}
            )
        return group

    def validate_victim_role(self, value: str) -> str:
        role = value or VictimGroup.ALL
        if self.is_fixed() and role not in protection.RESEARCH_VICTIM_ROLES:
            raise serializers.ValidationError(_("Kies all, student of staff."))
        return str(role)

    def validate(self, attrs):
        school_year = attrs.get("school_year") or queries.latest_computed_year()
        if school_year is None:
            raise NoFiguresForYear(_("Er zijn nog geen cijfers berekend."), [])
        if not queries.has_current_set(school_year):
            years = queries.computed_years()
            raise NoFiguresForYear(
                _(
                    "Voor schooljaar %(year)s zijn (nog) geen cijfers berekend. "
                    "Beschikbaar: %(years)s."
                )
                % {"year": school_year, "years": ", ".join(years) or "-"},
                years,
            )
        attrs["school_year"] = school_year
        return attrs

    @property
    def selection(self) -> queries.Selection:
        data = self.validated_data
        return queries.Selection(
            school_year=data["school_year"],
            group=data.get("group") or groups.resolve_group(groups.GROUP_TOTAL),
            victim_role=data.get("victim_role") or VictimGroup.ALL,
        )


class SurveySelectionSerializer(SelectionSerializer):
    """The selection of figures joined to a survey: the survey is about everyone, so there
    is no victim role."""

    victim_role = None


class ResearchSelectionSerializer(SelectionSerializer):
    """The research API's selection: the publication's combinations only."""

    fixed = True

    group = serializers.CharField(
        required=False,
        error_messages={"blank": BLANK},
        help_text=(
            "One of the fixed groups: `total` (default), `misdragingen`, `ongevallen`, or a "
            "category code (`MIS`, `ONG`, `BRA`, `MIL`). Subcategories and incident types "
            "are not offered per institution."
        ),
    )


def parse_selection(
    params: Mapping[str, str],
    *,
    fixed: bool = False,
    serializer_class: type[SelectionSerializer] = SelectionSerializer,
) -> queries.Selection:
    """The selection ``params`` name (a request's query). Raises :class:`InvalidSelection`
    for the first parameter that cannot be used, :class:`NoFiguresForYear` when the year
    has no figures."""
    serializer = serializer_class(data=params, context={"fixed": fixed})
    if not serializer.is_valid():
        parameter, messages = next(iter(serializer.errors.items()))
        raise InvalidSelection(parameter, str(messages[0]))
    return serializer.selection
