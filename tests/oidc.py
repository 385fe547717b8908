"""A real OpenID Connect provider on loopback for the tests (the role SURFconext plays in
production): :mod:`tests.oidc_provider`, a second small Django project with
django-oidc-provider, started as its own process on a free port with its own SQLite
database, once per test session.

``oidc_provider`` starts it (the client's redirect URI is the live server's callback);
``oidc_settings`` points MIV's OIDC settings at it for one test. ``IDP_USERS`` are the
accounts at the "institution"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.smtp import _free_port

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID = "miv-test"
CLIENT_SECRET = "miv-test-secret-0123456789"
IDP_USERS = {
    # Invited in the tests: signs in and becomes a member.
    "j.jansen": {
        "email": "J.Jansen@alfa.example.nl",
        "password": "idp-password-1",
        "given_name": "Jan",
        "family_name": "Jansen",
    },
    # Nobody invited this one: a clear page, no account.
    "p.pietersen": {
        "email": "p.pietersen@alfa.example.nl",
        "password": "idp-password-2",
        "given_name": "Piet",
        "family_name": "Pietersen",
    },
    # The provider does not vouch for this address.
    "o.onbevestigd": {
        "email": "o.onbevestigd@alfa.example.nl",
        "password": "idp-password-3",
        "email_verified": False,
    },
}


@dataclass
class Provider:
    url: str
    process: subprocess.Popen

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    def settings(self) -> dict:
        return {
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks",
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_RP_SIGN_ALGO": "RS256",
        }


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("oidc-provider")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    config = {
        "port": port,
        "site_url": url,
        "database": str(workdir / "provider.sqlite3"),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{live_server.url}/accounts/oidc/callback/"],
        "users": IDP_USERS,
    }
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    log = (workdir / "provider.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve", str(config_path)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    "the OIDC provider exited: " + (workdir / "provider.log").read_text()[-2000:]
                )
            try:
                if httpx.get(f"{url}/openid/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the OIDC provider did not start within 60 s")
            time.sleep(0.2)
        yield Provider(url=url, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def oidc_settings(settings, oidc_provider) -> Provider:
    for name, value in oidc_provider.settings().items():
        setattr(settings, name, value)
    return oidc_provider
