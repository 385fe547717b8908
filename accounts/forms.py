"""Forms of the people-and-access pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from incidents.models import Location

from .choices import InvitableRole
from .tokens import expiry_choices


class LocationForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("Kort en vast, bijvoorbeeld ZW-HQ; importbestanden noemen de vestiging zo."),
    )
    name = forms.CharField(label=_("Naam"), max_length=200)
    municipality = forms.CharField(label=_("Gemeente"), max_length=100, required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]


def _location_field(institution) -> forms.ModelChoiceField:
    queryset = (
        Location.objects.filter(institution=institution, active=True)
        if institution is not None
        else Location.objects.none()
    )
    return forms.ModelChoiceField(
        label=_("Vaste vestiging"),
        queryset=queryset,
        required=False,
        empty_label=_("Geen (kiest zelf bij elke melding)"),
        help_text=_("Alvast ingevuld in het meldformulier."),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mailadres"), max_length=254)
    role = forms.ChoiceField(
        label=_("Rol"), choices=InvitableRole.choices, widget=forms.RadioSelect
    )
    default_location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)

    def __init__(self, *args, institution, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_location"] = _location_field(institution)


class ResearcherInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mailadres"), max_length=254)
    named_access = forms.BooleanField(
        label=_("Ziet BRIN-codes (benoemde toegang)"),
        required=False,
        help_text=_("Zonder benoemde toegang ziet de onderzoeker alleen pseudoniemen."),
    )


class MemberForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Rol"), choices=InvitableRole.choices, widget=forms.RadioSelect
    )
    default_location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)

    def __init__(self, *args, institution, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_location"] = _location_field(institution)


class NamedAccessForm(forms.Form):
    named_access = forms.BooleanField(label=_("Ziet BRIN-codes (benoemde toegang)"), required=False)


class AcceptForm(forms.Form):
    """The invitee's new local account: a username (the e-mail address by default) and a
    password, checked by the project's password validators."""

    username = forms.CharField(
        label=_("Gebruikersnaam"),
        max_length=150,
        help_text=_("Letters, cijfers en @ . + - _"),
    )
    first_name = forms.CharField(label=_("Voornaam"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Achternaam"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Wachtwoord"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Wachtwoord nogmaals"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        User = get_user_model()
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("Deze gebruikersnaam is al in gebruik; kies een andere."))
        return username

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("De wachtwoorden verschillen."))
        elif first:
            User = get_user_model()
            candidate = User(
                username=data.get("username", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Naam"),
        max_length=100,
        help_text=_("Waarvoor u het gebruikt, bijvoorbeeld: analyse-script 2024."),
    )
    days = forms.TypedChoiceField(label=_("Geldig"), coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].choices = [
            (days, _("%(days)s dagen") % {"days": days}) for days in expiry_choices()
        ]
        self.fields["days"].initial = 90 if 90 in expiry_choices() else expiry_choices()[-1]
