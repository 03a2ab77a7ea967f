"""Settings, read once from environment variables (see README "Configuration").

Secure by default: DEBUG is off unless asked for, and a production process (DEBUG off) refuses to start
with the development secret key.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "ardesk-insecure-development-key-change-me"


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no)")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from exc


def envlist(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


DEBUG = envbool("DEBUG", False)
TESTING = envbool("ARDESK_TESTING", "pytest" in sys.modules)
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and not TESTING and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the development default; set SECRET_KEY to a long random value "
        "(or DEBUG=1 for a local development server)."
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "axes",
    "ardesk.core",
    "ardesk.ledger",
    "ardesk.activities",
    "ardesk.imports",
    "ardesk.metrics",
    "ardesk.disputes",
    "ardesk.collections",
    "ardesk.goals",
    "ardesk.coaching",
    "ardesk.dashboard",
    "ardesk.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "ardesk.core.middleware.ArdeskErrorMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "ardesk.urls"
WSGI_APPLICATION = "ardesk.wsgi.application"
ASGI_APPLICATION = "ardesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "ardesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ardesk.core.context_processors.ardesk",
            ],
        },
    },
]

_default_db = f"sqlite:///{BASE_DIR / 'var' / 'ardesk.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE transactions avoid upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif "postgresql" in DATABASES["default"]["ENGINE"] and not envbool("ARDESK_PG_JIT", False):
    # PostgreSQL's JIT compiles any plan it estimates as expensive; the KPI statements are estimated so
    # and run in a fraction of a second, and compiling them took 0.5-1.2 s each (a 10k-customer book's
    # KPIs: 1.7 s with it, 0.5 s without). ARDESK_PG_JIT=1 leaves the server's setting alone.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = f"{_pg_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("ARDESK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
WHITENOISE_USE_FINDERS = DEBUG or TESTING  # production serves collectstatic output from STATIC_ROOT
STATICFILES_DIRS = [BASE_DIR / "ardesk" / "static"]  # the web shell's CSS, JS and icons
MEDIA_ROOT = Path(os.environ.get("ARDESK_MEDIA_ROOT", BASE_DIR / "var" / "media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
ARDESK_MAX_UPLOAD_BYTES = envint("ARDESK_MAX_UPLOAD_BYTES", 500 * 1024 * 1024)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG and not TESTING)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Login throttling and lockout (django-axes): 5 failures for a username from one address lock it
# for ARDESK_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = envint("ARDESK_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("ARDESK_LOCKOUT_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = envbool("ARDESK_LOGIN_THROTTLE", True)
AXES_VERBOSE = False

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ar@ardesk.local")

# Public address of this installation, for links in emails (unsubscribe, statements).
ARDESK_BASE_URL = os.environ.get("ARDESK_BASE_URL", "http://127.0.0.1:8000")
# Where the file email backend writes (`make demo` uses it: EMAIL_BACKEND=...filebased.EmailBackend).
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))

# `ardesk demo` builds the ledger book, then calls each of these in the same transaction, in order, to add
# the data of the apps above the ledger. Each is `build(*, cfg, console, verbose) -> str` (a summary line).
ARDESK_DEMO_EXTENSIONS = [
    "ardesk.activities.demo.build",
    "ardesk.disputes.demo.build",
    "ardesk.collections.demo.build",
    "ardesk.goals.demo.build",
    "ardesk.coaching.demo.build",
]

# After an import commits its rows (in the same transaction), each of these is called as
# `hook(*, actor, kind, customer_ids, as_of)`: the apps above the ledger react to new payments this way
# (promises to pay are evaluated) without the import app depending on them.
ARDESK_AFTER_IMPORT = ["ardesk.activities.services.after_ledger_import"]

ARDESK_API_PAGE_MAX = envint("ARDESK_API_PAGE_MAX", 500)
# KPI pages cache their figures, keyed by scope, options and the latest ledger change (0 = off).
ARDESK_DASHBOARD_CACHE_SECONDS = envint("ARDESK_DASHBOARD_CACHE_SECONDS", 300)
# KPI pages read past-period figures from fresh snapshots (`ardesk snapshot`) instead of recomputing them;
# a snapshot that the ledger changed under is never served. Off = always compute live.
ARDESK_DASHBOARD_SNAPSHOTS = envbool("ARDESK_DASHBOARD_SNAPSHOTS", True)
# The columnar copy of the ledger (DuckDB) that KPI computations over large scopes run on
# (`metrics.columnar`; built by `ardesk columnar sync`, then kept up to date by every computation that uses
# it). Empty = off. Scopes under ARDESK_COLUMNAR_MIN_CUSTOMERS customers use the database itself.
ARDESK_COLUMNAR_PATH = os.environ.get(
    "ARDESK_COLUMNAR_PATH", "" if TESTING else str(BASE_DIR / "var" / "columnar.duckdb")
)
ARDESK_COLUMNAR_MIN_CUSTOMERS = envint("ARDESK_COLUMNAR_MIN_CUSTOMERS", 50_000)
# DuckDB's memory limit for those computations (it spills to disk beyond it); threads: 0 = every core.
ARDESK_COLUMNAR_MEMORY_LIMIT = os.environ.get("ARDESK_COLUMNAR_MEMORY_LIMIT", "1GB")
ARDESK_COLUMNAR_THREADS = envint("ARDESK_COLUMNAR_THREADS", 0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
