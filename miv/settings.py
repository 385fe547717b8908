"""Settings for MIV, read from the environment (django-environ).

Without ``DATABASE_URL`` and ``CELERY_BROKER_URL`` MIV runs embedded: SQLite in ``var/``
and Celery tasks executed eagerly in-process, so a newcomer needs nothing but Python. A
real deployment sets ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis).

DEBUG is off unless ``DJANGO_DEBUG=true`` says otherwise (``make demo``, ``make serve`` and
the tests say so). Without it MIV is in production mode, which has no defaults for
secrets: it refuses to start without ``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS``.
Every setting that matters in production is listed, with its default and why, in the
README's production section.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's local overrides; never required.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DATA_DIR = Path(env("MIV_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Off unless explicitly on: an image or a server started without configuration must not
# serve debug pages with a known key.
DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-only-for-debug-mode")
    ALLOWED_HOSTS = env.list(
        "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"]
    )
else:
    try:
        SECRET_KEY = env("DJANGO_SECRET_KEY")
        ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            "Production mode (DJANGO_DEBUG is not true) needs DJANGO_SECRET_KEY and "
            f"DJANGO_ALLOWED_HOSTS: {exc}. For development set DJANGO_DEBUG=true "
            "(make demo and make serve do)."
        ) from None
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name at least one host.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "miv",
    "taxonomy",
    "incidents",
    "reporting",
    "questionnaire",
    "accounts",
    "demo",
]

MIDDLEWARE = [
    # First: a body over MIV_UPLOAD_MAX_BYTES is refused before anything reads it.
    "miv.uploads.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "miv.middleware.DatabaseUnavailableMiddleware",
    # Notes when an API token was last used (at most once a minute per token).
    "accounts.tokens.TokenLastUseMiddleware",
    # Last, so that it sees a failed login after authentication has run.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "miv.urls"
WSGI_APPLICATION = "miv.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project templates first, so they can override a library's (drf-spectacular's
        # Swagger page); app templates follow.
        "DIRS": [BASE_DIR / "miv" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "incidents.context_processors.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'miv.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions make concurrent writers wait for the lock instead of failing
    # with "database is locked" half-way through a transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # A connection that died with a database restart is replaced before the next request
    # uses it, so the service recovers without being restarted.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Redis away is a cache miss, not a 500 (miv/cache.py).
    CACHES["default"]["BACKEND"] = "miv.cache.ResilientRedisCache"

# --- Authentication and security ------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Sign-in with the institution account (OpenID Connect); inert unless configured below.
    "accounts.oidc.InstitutionAccountBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# The login throttle (miv/login_throttle.py): a username is locked after
# AXES_FAILURE_LIMIT failures from any address; an address after MIV_LOGIN_IP_FAILURE_LIMIT
# failures for any usernames; both for the cool-off. The address is the client's, resolved
# behind the proxies listed in MIV_TRUSTED_PROXIES (miv/clientip.py).
AXES_HANDLER = "miv.login_throttle.LoginThrottleHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
MIV_LOGIN_IP_FAILURE_LIMIT = env.int("MIV_LOGIN_IP_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "miv.clientip.client_ip"
# Addresses or networks of the reverse proxies in front of gunicorn whose X-Forwarded-For
# is believed; empty: none (the client is REMOTE_ADDR).
MIV_TRUSTED_PROXIES = env.list("MIV_TRUSTED_PROXIES", default=[])

# Sessions end after this many seconds without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=60 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Plain http is redirected to https, except the health check (monitoring and
    # container health checks talk to gunicorn directly).
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # The TLS-terminating proxy says "https" in X-Forwarded-Proto; it must overwrite the
    # header (never pass on the client's), and gunicorn must be reachable only through it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Content-Security-Policy: the pages carry no inline scripts or styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Nederlands")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "miv" / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("MIV_STATIC_ROOT", default=str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env("MIV_MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Upload size limit for forms; import files stream to disk above this size.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The largest request body MIV accepts (413 above it, before it is stored; miv/uploads.py):
# the largest import file plus room for the other form fields. Set the proxy's limit
# (nginx client_max_body_size) a little above it.
MIV_IMPORT_MAX_BYTES = env.int("MIV_IMPORT_MAX_BYTES", default=32 * 1024 * 1024)
MIV_UPLOAD_MAX_BYTES = env.int("MIV_UPLOAD_MAX_BYTES", default=MIV_IMPORT_MAX_BYTES + 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "miv.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
        "miv.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The API speaks JSON (the research CSV is its own renderer, on its own view): one body
    # format, so generated clients send JSON and a null stays null.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": [
        "miv.api.filters.FilterSetBackend",
        "miv.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "miv.api.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "miv.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "miv.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "research": env("MIV_RESEARCH_RATE", default="120/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("MIV_TOKEN_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MIV API",
    "DESCRIPTION": (
        "Monitor Integrale Veiligheid: incident registration for MBO institutions. "
        "Authenticate with `Authorization: Token <token>` (create one at /accounts/tokens/, "
        "*API-tokens*) or the browser session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Component and enum names are English and fixed; the schema is rendered in English
    # whatever the reader's Accept-Language (miv.api.schema.SchemaView).
    "ENUM_NAME_OVERRIDES": {
        "VictimRoleEnum": "incidents.choices.VictimRole",
        "PerpetratorRoleEnum": "incidents.choices.PerpetratorRole",
        "InjuryEnum": "incidents.choices.Injury",
        "PlaceEnum": "incidents.choices.Place",
        "IncidentStatusEnum": "incidents.choices.Status",
        "InstitutionKindEnum": "incidents.choices.InstitutionKind",
        "RegionEnum": "incidents.choices.Region",
        "UrbanityEnum": "incidents.choices.Urbanity",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "miv.api.schema.drop_parameter_titles",
        "miv.api.schema.no_defaults_in_partial_updates",
    ],
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# Without a broker, tasks run eagerly in-process: the embedded quick-start mode.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Job state lives in MIV's own tables; no result backend needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers an unacknowledged task after the visibility timeout; the hard time
# limit stays below it so that a running task is never delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 3,
}
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_TIMEZONE = TIME_ZONE
# How often the catch-up task looks for stale years whose recomputation was lost; a
# recomputation due longer ago than this (after its debounce) is taken as lost.
MIV_FIGURES_CATCH_UP_SECONDS = env.int("MIV_FIGURES_CATCH_UP_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "nightly-figures": {
        "task": "reporting.tasks.compute_all_figures",
        "schedule": crontab(hour=2, minute=30),
    },
    "nightly-purge-import-jobs": {
        "task": "incidents.tasks.purge_stale_import_jobs",
        "schedule": crontab(hour=3, minute=45),
    },
    "nightly-delete-expired-api-tokens": {
        "task": "miv.tasks.delete_expired_api_tokens",
        "schedule": crontab(hour=3, minute=30),
    },
    "nightly-anonymise": {
        "task": "incidents.tasks.anonymise_expired_incidents",
        "schedule": crontab(hour=3, minute=15),
    },
    # Years that changed while no recomputation could be enqueued (Redis away, a message
    # lost) are recomputed within minutes of the broker's return, not the next night.
    "catch-up-stale-figures": {
        "task": "reporting.tasks.catch_up_stale_figures",
        "schedule": MIV_FIGURES_CATCH_UP_SECONDS,
    },
}

# --- E-mail ---------------------------------------------------------------------------------
# EMAIL_URL as django-environ reads it: smtp://user:password@host:587 (smtp+tls://,
# smtp+ssl://), or consolemail:// (the default: mails are printed, for the embedded demo).
vars().update(env.email("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="MIV <noreply@miv.example.nl>")
# Mails link back to the service: its public address, without a trailing slash.
# Default: https:// and the first allowed host in production, runserver's address in DEBUG.
_first_host = next((h.lstrip(".") for h in ALLOWED_HOSTS if h.lstrip(".") not in ("", "*")), "")
MIV_SITE_URL = (
    env("MIV_SITE_URL", default="")
    or (f"https://{_first_host}" if not DEBUG and _first_host else "http://127.0.0.1:8000")
).rstrip("/")

# --- Sign-in with the institution account (OpenID Connect, e.g. SURFconext) -------------------
# Off unless OIDC_RP_CLIENT_ID and the endpoints are set; `manage.py oidc_endpoints ISSUER`
# prints them from the provider's discovery document. See README: Institution accounts.
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile")
# True only when the provider vouches for every e-mail address it sends (an institution's
# own directory); otherwise the claim email_verified must be true.
OIDC_TRUST_EMAIL = env.bool("OIDC_TRUST_EMAIL", default=False)
OIDC_USE_PKCE = True
OIDC_CREATE_USER = False  # accounts.oidc decides who gets an account
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc-callback"
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)

# --- MIV ------------------------------------------------------------------------------------
# Invitation links work once, for this many days.
MIV_INVITATION_DAYS = env.int("MIV_INVITATION_DAYS", default=7)
# API tokens made in the interface are valid for at most this many days.
MIV_TOKEN_MAX_DAYS = env.int("MIV_TOKEN_MAX_DAYS", default=365)
# Smallest count published to researchers; counts 0 < n < k are suppressed.
MIV_DISCLOSURE_K = env.int("MIV_DISCLOSURE_K", default=5)
# The protection level of the publication (reporting.audit): every withheld count keeps a
# feasible integer range at least this wide for an attacker who solves integer programs.
MIV_DISCLOSURE_PROTECTION = env.int("MIV_DISCLOSURE_PROTECTION", default=2)
# Seconds each audit of a publication (the year's table, the same period) may take. An
# audit that runs out withholds what it did not show safe (for the table: every cell) and
# logs it. A synthetic sector of 60 institutions needs about 3 minutes on one core.
MIV_DISCLOSURE_AUDIT_SECONDS = env.int("MIV_DISCLOSURE_AUDIT_SECONDS", default=900)
# Import files larger than MIV_IMPORT_MAX_BYTES (32 MiB by default; set with the upload
# limits above) are refused before they are read.
# Descriptions and measures are anonymised this many years after the incident.
MIV_RETENTION_YEARS = env.int("MIV_RETENTION_YEARS", default=5)
# Stored answers of POSTs with an Idempotency-Key (they hold the description) are kept this
# many days for client retries, then deleted by the nightly retention run.
MIV_IDEMPOTENCY_KEEP_DAYS = env.int("MIV_IDEMPOTENCY_KEEP_DAYS", default=7)
# Changes within this many seconds are recomputed as one burst.
MIV_FIGURES_DEBOUNCE_SECONDS = env.int("MIV_FIGURES_DEBOUNCE_SECONDS", default=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Request logs carry URLs only; MIV never puts personal data in URLs.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}
