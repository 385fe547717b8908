"""``manage.py oidc_endpoints ISSUER``: read an OpenID Connect provider's discovery
document and print the ``OIDC_*`` environment lines MIV needs (README: Institution
accounts). Checks that the provider signs with RS256 and supports the code flow."""

import requests
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print the OIDC_* settings for a provider, from its discovery document."

    def add_arguments(self, parser):
        parser.add_argument("issuer", help="e.g. https://connect.surfconext.nl")
        parser.add_argument("--timeout", type=float, default=10)

    def handle(self, *args, issuer, timeout, **options):
        issuer = issuer.rstrip("/")
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"Could not read {url}: {exc}") from None
        if document.get("issuer", "").rstrip("/") != issuer:
            raise CommandError(
                f"The document names issuer {document.get('issuer')!r}, not {issuer!r}."
            )
        missing = [
            key
            for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
            if not document.get(key)
        ]
        if missing:
            raise CommandError(f"The provider does not name: {', '.join(missing)}.")
        if "code" not in document.get("response_types_supported", ["code"]):
            raise CommandError("The provider does not support the authorization code flow.")
        algorithms = document.get("id_token_signing_alg_values_supported", ["RS256"])
        if "RS256" not in algorithms:
            raise CommandError(f"The provider does not sign with RS256 ({algorithms}).")
        self.stdout.write(f"OIDC_OP_ISSUER={document['issuer']}")
        self.stdout.write(f"OIDC_OP_AUTHORIZATION_ENDPOINT={document['authorization_endpoint']}")
        self.stdout.write(f"OIDC_OP_TOKEN_ENDPOINT={document['token_endpoint']}")
        self.stdout.write(f"OIDC_OP_USER_ENDPOINT={document['userinfo_endpoint']}")
        self.stdout.write(f"OIDC_OP_JWKS_ENDPOINT={document['jwks_uri']}")
        self.stdout.write("OIDC_RP_SIGN_ALGO=RS256")
        self.stdout.write("OIDC_RP_CLIENT_ID=...      # from the provider's registration")
        self.stdout.write("OIDC_RP_CLIENT_SECRET=...  # idem; keep it secret")
