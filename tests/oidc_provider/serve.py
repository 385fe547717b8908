"""``python -m tests.oidc_provider.serve CONFIG.json``: migrate the provider's own SQLite
database, create its signing key, the client (MIV) and the users of the config, print
``ready`` and serve on the config's port until killed."""

import json
import os
import sys
from pathlib import Path


def main() -> None:
    config_path = Path(sys.argv[1])
    config = json.loads(config_path.read_text())
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    os.environ["OIDC_TEST_PROVIDER_CONFIG"] = str(config_path)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application
    from oidc_provider.models import Client, ResponseType, RSAKey

    call_command("migrate", verbosity=0)
    if not RSAKey.objects.exists():
        call_command("creatersakey", stdout=open(os.devnull, "w"))  # noqa: SIM115
    client, _ = Client.objects.update_or_create(
        client_id=config["client_id"],
        defaults={
            "name": "MIV",
            "client_type": "confidential",
            "client_secret": config["client_secret"],
            "jwt_alg": "RS256",
            "require_consent": False,
            "reuse_consent": True,
        },
    )
    client.redirect_uris = config["redirect_uris"]
    client.save()
    code, _ = ResponseType.objects.get_or_create(
        value="code", defaults={"description": "code (Authorization Code Flow)"}
    )
    client.response_types.set([code])
    User = get_user_model()
    for username, user in config["users"].items():
        account, _ = User.objects.get_or_create(username=username)
        account.email = user["email"]
        account.first_name = user.get("given_name", "")
        account.last_name = user.get("family_name", "")
        account.set_password(user["password"])
        account.save()
    print("ready", flush=True)
    run("127.0.0.1", config["port"], get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()
