"""Fixed choices of the accounts app. Values are stable identifiers (stored in the audit
trail)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOCATION_CREATED = "location_created", _("Vestiging toegevoegd")
    LOCATION_CHANGED = "location_changed", _("Vestiging gewijzigd")
    LOCATION_DEACTIVATED = "location_deactivated", _("Vestiging gedeactiveerd")
    LOCATION_ACTIVATED = "location_activated", _("Vestiging weer actief")
    LOCATION_DELETED = "location_deleted", _("Vestiging verwijderd")
    INVITED = "invited", _("Uitgenodigd")
    INVITATION_RESENT = "invitation_resent", _("Uitnodiging opnieuw verstuurd")
    INVITATION_REVOKED = "invitation_revoked", _("Uitnodiging ingetrokken")
    INVITATION_ACCEPTED = "invitation_accepted", _("Uitnodiging aangenomen")
    ROLE_CHANGED = "role_changed", _("Rol gewijzigd")
    MEMBER_DEACTIVATED = "member_deactivated", _("Lid gedeactiveerd")
    MEMBER_REMOVED = "member_removed", _("Lidmaatschap beëindigd")
    MEMBER_ACTIVATED = "member_activated", _("Lid weer actief")
    TOKEN_CREATED = "token_created", _("API-token aangemaakt")
    TOKEN_REVOKED = "token_revoked", _("API-token ingetrokken")
    ACCOUNT_LINKED = "account_linked", _("Instellingsaccount gekoppeld")
    # Registrations of a school year marked not usable for the sector figures, and back.
    YEAR_UNUSABLE = "year_unusable", _("Schooljaar niet bruikbaar voor de sector")
    YEAR_USABLE = "year_usable", _("Schooljaar weer bruikbaar voor de sector")


class InvitableRole(models.TextChoices):
    """The roles a coordinator may give (researchers are appointed by administrators)."""

    REGISTRAR = "registrar", _("Registreerder")
    COORDINATOR = "coordinator", _("Veiligheidscoördinator")
