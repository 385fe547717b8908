"""Forms of the figures pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import REASON_MAX_LENGTH


class UnusableYearForm(forms.Form):
    """Why a school year's registrations are not usable for the sector figures."""

    reason = forms.CharField(
        label=_("Reden"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Bijvoorbeeld: alleen de hoofdvestiging registreerde dit jaar. De reden staat in "
            "het logboek van de instelling; de sectorcijfers noemen alleen dat de instelling "
            "niet is meegeteld."
        ),
        error_messages={
            "required": _("Geef de reden: waarom zijn deze registraties niet bruikbaar?")
        },
    )
