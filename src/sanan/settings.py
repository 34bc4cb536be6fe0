"""Sanan's settings, all read from environment variables through the typed helpers of
:mod:`sanan.core.env`. See docs/operations.md for the list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from sanan.core.env import (
    database_from_url,
    env_area_code,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    parse_pii_keys,
    persistent_secret,
    sqlite_database,
)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(env_str("SANAN_VAR_DIR", str(PROJECT_DIR / "var"))).resolve()

DEBUG = env_bool("SANAN_DEBUG", False)
SECRET_KEY = env_str("SANAN_SECRET_KEY", "") or persistent_secret(VAR_DIR / "secret_key", nbytes=48)

# Personal-data encryption keys: "id:base64,id:base64"; the first one encrypts new values.
PII_KEYS = parse_pii_keys(
    "SANAN_PII_KEYS",
    env_str("SANAN_PII_KEYS", "") or f"k1:{persistent_secret(VAR_DIR / 'pii_key_k1')}",
)
PII_CURRENT_KEY_ID = next(iter(PII_KEYS))
PII_INDEX_KEY = (
    env_str("SANAN_PII_INDEX_KEY", "") or persistent_secret(VAR_DIR / "pii_index_key")
).encode()
PII_CIPHER = env_choice("SANAN_PII_CIPHER", "aes-256-gcm", ("aes-256-gcm", "sm4-gcm"))

ALLOWED_HOSTS = env_list("SANAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("SANAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "treebeard",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "sanan.core",
    "sanan.audit",
    "sanan.places",
    "sanan.organisation",
    "sanan.accounts",
    "sanan.registry",
    "sanan.workorders",
    "sanan.notifications",
    "sanan.open311",
    "sanan.hotline",
    "sanan.triage",
    "sanan.dashboard",
    "sanan.insights",
    "sanan.campaigns",
    "sanan.dualreport",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "sanan.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sanan.core.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "sanan.accounts.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sanan.core.middleware.HtmxLoginRedirectMiddleware",
    "sanan.core.middleware.RequestContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sanan.urls"
WSGI_APPLICATION = "sanan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sanan.core.context_processors.sanan",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(_database_url)
    if _database_url
    else sqlite_database(VAR_DIR / "sanan.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "sanan.accounts.backends.PhoneOrUsernameBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("SANAN_PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout after repeated failures (django-axes), by username and address.
AXES_FAILURE_LIMIT = env_int("SANAN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_COOLOFF_MINUTES = env_int("SANAN_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
# Per account, from any address: moving to another address or spelling gains nothing. (axes
# warns when the address is not part of the key; a per-address limit would lock out a whole
# community office behind one NAT address, so password spraying is left to rate limiting.)
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# "139 0000 0002", "+86 13900000002" and "13900000002" are one account, so one failure count.
AXES_USERNAME_CALLABLE = "sanan.accounts.backends.lockout_username"
AXES_SENSITIVE_PARAMETERS = ["username", "csrfmiddlewaretoken"]  # masked in attempt records
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "sanan.accounts.views.locked_out"
AXES_ENABLE_ACCESS_FAILURE_LOG = False  # failures are counted, never stored with the username
AXES_VERBOSE = False

# Two-step sign-in (TOTP, django-otp): anyone may turn it on from their account page; holders
# of these roles (comma-separated role codes, e.g. "admin,leader,dispatcher") must use it.
TOTP_REQUIRED_ROLES = env_list("SANAN_TOTP_REQUIRED_ROLES", [])
TOTP_ISSUER = env_str("SANAN_TOTP_ISSUER", "Sanan")
TOTP_MAX_TRIES = env_int("SANAN_TOTP_MAX_TRIES", 5, minimum=1)  # wrong codes per sign-in
OTP_TOTP_ISSUER = TOTP_ISSUER
# Password reset links (one-time, signed): valid this long; self-service requests by email
# (only when email is configured) limited per address and per account each hour.
PASSWORD_RESET_TIMEOUT = env_int("SANAN_PASSWORD_RESET_HOURS", 24, minimum=1) * 3600
RATE_PASSWORD_RESET_PER_HOUR = env_int("SANAN_RATE_PASSWORD_RESET_PER_HOUR", 5, minimum=1)

# Per client address and minute (core/ratelimit.py): sign-in attempts, and writes by people
# not signed in (Open311 posts, public forms). Counted in the cache below.
RATE_SIGN_IN_PER_MINUTE = env_int("SANAN_RATE_SIGN_IN_PER_MINUTE", 20, minimum=1)
RATE_PUBLIC_WRITES_PER_MINUTE = env_int("SANAN_RATE_PUBLIC_WRITES_PER_MINUTE", 60, minimum=1)
_cache_url = env_str("SANAN_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Idle sessions end after this many minutes without a request.
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SANAN_IDLE_TIMEOUT_MINUTES", 30, minimum=1)
SESSION_COOKIE_AGE = env_int("SANAN_SESSION_MAX_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE = env_bool("SANAN_SECURE", False)  # set on when served over HTTPS
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = env_bool("SANAN_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SANAN_HSTS_SECONDS", 31536000 if SECURE else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = env_bool("SANAN_HSTS_PRELOAD", SECURE)  # the header only; listing is apart
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SANAN_BEHIND_PROXY", False) else None
)
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (core.middleware): scripts and styles only from our own files (style
# attributes allowed: templates use them), images also as data: URLs (QR codes, thumbnails).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
CONTENT_SECURITY_POLICY_REPORT_ONLY = env_bool("SANAN_CSP_REPORT_ONLY", False)
CSRF_FAILURE_VIEW = "sanan.core.views.csrf_failure"

# The number residents can call instead (shown on sign-in and help pages); empty hides it.
HELP_PHONE = env_str("SANAN_HELP_PHONE", "")
# The area code of local landline numbers typed without it (a local call's caller ID), e.g. 0833.
LOCAL_AREA_CODE = env_area_code("SANAN_LOCAL_AREA_CODE")

# --- Audit ----------------------------------------------------------------------------------
AUDIT_RETENTION_DAYS = env_int("SANAN_AUDIT_RETENTION_DAYS", 365, minimum=1)

# --- Work orders ----------------------------------------------------------------------------
# A finished order nobody rated closes as "not rated" after this many days; a rated one is
# archived by the SLA sweep after WORK_ORDER_ARCHIVE_DAYS.
WORK_ORDER_RATING_DAYS = env_int("SANAN_WORK_ORDER_RATING_DAYS", 7, minimum=1)
WORK_ORDER_ARCHIVE_DAYS = env_int("SANAN_WORK_ORDER_ARCHIVE_DAYS", 3, minimum=0)
WORK_ORDER_ATTACHMENT_MAX_BYTES = env_int(
    "SANAN_WORK_ORDER_ATTACHMENT_MAX_BYTES", 8 * 1024 * 1024, minimum=1024
)
WORK_ORDER_ATTACHMENT_MAX_PIXELS = env_int(
    "SANAN_WORK_ORDER_ATTACHMENT_MAX_PIXELS", 40_000_000, minimum=10_000
)

# --- Background work and notifications (docs/decisions/0002-background-work.md) ------------
# The worker's queue: empty = a SQLite file var/queue.sqlite3 (embedded, nothing to install);
# redis://host:6379/0 when scaled out. sanan.notifications checks it at start-up.
QUEUE_URL = env_str("SANAN_QUEUE_URL", "")
WORKER_THREADS = env_int("SANAN_WORKER_THREADS", 2, minimum=1, maximum=32)
NOTIFY_MAX_ATTEMPTS = env_int("SANAN_NOTIFY_MAX_ATTEMPTS", 8, minimum=1, maximum=30)
NOTIFY_RETRY_BASE_SECONDS = env_int("SANAN_NOTIFY_RETRY_BASE_SECONDS", 30, minimum=1, maximum=3600)
WEBHOOK_TIMEOUT_SECONDS = env_int("SANAN_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
SMS_ADAPTER = env_str("SANAN_SMS_ADAPTER", "sanan.notifications.delivery.LoggingSmsAdapter")
PUBLIC_URL = env_str("SANAN_PUBLIC_URL", "http://127.0.0.1:8000")  # links in email, webhooks
# Email: SMTP when SANAN_EMAIL_HOST is set, otherwise printed on the console (development).
EMAIL_HOST = env_str("SANAN_EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("SANAN_EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("SANAN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("SANAN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SANAN_EMAIL_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("SANAN_EMAIL_FROM", "Sanan <noreply@localhost>")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
FORMAT_MODULE_PATH = ["sanan.formats"]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "sanan_language"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it, even before collectstatic
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# Production (`sanan serve` sets it): files collected with hashed names and gzip copies, served
# by WhiteNoise from STATIC_ROOT with a year's Cache-Control. Off: served from the source folders.
STATIC_MANIFEST = env_bool("SANAN_STATIC_MANIFEST", False)
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sanan.accounts.authentication.TokenAuthentication",  # first: 401 + WWW-Authenticate
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "sanan.core.parsers.StrictJSONParser",  # no lone surrogates: they cannot be stored
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Lists count their rows up to 1,000 ("count_capped": more): a district has a million
    # residents, orders and audit events, and counting them all cost more than the page.
    "DEFAULT_PAGINATION_CLASS": "sanan.core.pagination.CappedPageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sanan.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sanan API",
    "DESCRIPTION": "Community governance: places, accounts, audit, and the domains built on them.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Every operation's error answers (400, 401, 403, 404, 405, 415) in the one error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sanan.core.schema.document_errors",
    ],
    # Choice sets whose fields share a name across apps ("kind", "status", "relation")
    "ENUM_NAME_OVERRIDES": {
        "PlaceKindEnum": "sanan.places.models.PlaceKind",
        "ResidenceEventKindEnum": "sanan.registry.models.ResidenceEventKind",
        "VehicleKindEnum": "sanan.registry.models.VehicleKind",
        "ResidentStatusEnum": "sanan.registry.models.ResidentStatus",
        "RelationEnum": "sanan.registry.models.Relation",
        "ImportKindEnum": "sanan.registry.models_io.ImportKind",
        "ImportStateEnum": "sanan.registry.models_io.ImportState",
        "CampaignKindEnum": "sanan.campaigns.models.CampaignKind",
        "RegistrationKindEnum": "sanan.dualreport.models.RegistrationKind",
        "WorkOrderStateEnum": "sanan.workorders.state.State",
    },
}

# --- Logging: nothing personal; request ids instead of user data ------------------------------
LOG_LEVEL = env_choice("SANAN_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Demo -----------------------------------------------------------------------------------
DEMO_PASSWORD = env_str("SANAN_DEMO_PASSWORD", "sanan-demo-2026")
