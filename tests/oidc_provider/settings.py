"""Settings of the test OpenID Connect provider. Everything comes from the JSON file named
by ``OIDC_TEST_PROVIDER_CONFIG`` (written by :mod:`tests.oidc`)."""

import json
import os
from pathlib import Path

CONFIG = json.loads(Path(os.environ["OIDC_TEST_PROVIDER_CONFIG"]).read_text())

SECRET_KEY = "test-oidc-provider-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": CONFIG["database"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # test speed only
USE_TZ = True
LOGIN_URL = "/login/"
SITE_URL = CONFIG["site_url"]
OIDC_USERINFO = "tests.oidc_provider.settings.userinfo"
OIDC_IDTOKEN_INCLUDE_CLAIMS = False
SESSION_COOKIE_NAME = "idp_session"  # the browser keeps the provider's and MIV's apart
CSRF_COOKIE_NAME = "idp_csrftoken"


def userinfo(claims, user):
    """The claims of a user: e-mail (verified or not, as the test configured) and names."""
    extra = CONFIG["users"].get(user.username, {})
    claims["email"] = user.email
    claims["email_verified"] = bool(extra.get("email_verified", True))
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["name"] = f"{user.first_name} {user.last_name}".strip()
    return claims
