"""Phare's one settings file. Everything that differs between a laptop and production comes from the
environment; the defaults are for a developer's machine with SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


DATA_DIR = Path(os.getenv("PHARE_DATA_DIR", str(BASE_DIR.parent / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)
DEBUG = envbool("DEBUG", "False")
SECRET_KEY = os.getenv("SECRET_KEY", "dev-only-not-secret-" + "x" * 40)
ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
SITE_NAME = os.getenv("SITE_NAME", "Phare")
# The address users open Phare at, for the links in notification e-mails (https://phare.example.org).
PHARE_SITE_URL = os.getenv("PHARE_SITE_URL", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "phare.accounts",
    "phare.audit",
    "phare.core",
    "phare.cases",
    "phare.imports",
    "phare.jobs",
    "phare.ops",
    "phare.dashboards",
    "phare.api",
    "phare.sharing",
    "phare.documents",
    "phare.work",
    "phare.referrals",
    "phare.helplines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "phare.accounts.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "phare.core.locale.UserLanguageMiddleware",
    # Idle/absolute session limits and the second-factor gate, then the tenant (and DB role) for RLS.
    "phare.accounts.middleware.SessionPolicyMiddleware",
    "phare.accounts.middleware.RowLevelSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "phare.urls"
WSGI_APPLICATION = "phare.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# Django's backend, reading a session's user and organisation in one query. A session names the backend that
# signed it in: sessions of Django's own ModelBackend (before this one) were signed out once, at that deploy.
AUTHENTICATION_BACKENDS = ["phare.accounts.backends.Backend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "phare.core.context.navigation",
                "phare.work.context.bell",
            ]
        },
    }
]

# Django's renderer, with selects written in Python (the case list's owner filter lists every user).
FORM_RENDERER = "phare.core.renderers.Renderer"

DATABASE_URL = os.getenv("DATABASE_URL", f"sqlite:///{DATA_DIR / 'phare.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", "0"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers carry on while an import writes; IMMEDIATE avoids "database is locked" on upgrade.
    # SQLite's default page cache is 2 MiB: bulk loads insert random keys (blind indexes, uids) into indexes
    # far larger than that. The cache only grows as far as a connection uses it.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
        f"PRAGMA cache_size=-{envint('SQLITE_CACHE_MB', '64') * 1024};",
    }
if os.getenv("PHARE_TEST_DB_NAME"):
    # Lets two test runs share one PostgreSQL server without dropping each other's test database.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["PHARE_TEST_DB_NAME"]}
# Every view runs in one transaction, so an audit event and the action it records commit together.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# PostgreSQL row-level security (phare/rls.py): the non-owner role each request runs as; `phare rls install`.
PHARE_DB_ROLE = os.getenv("PHARE_DB_ROLE", "")
# Days an uploaded import file that was never imported nor discarded is kept (`phare retention run` deletes it).
PHARE_UPLOAD_KEEP_DAYS = envint("PHARE_UPLOAD_KEEP_DAYS", "7")
# Days a finished background job (its row: an import's report, an export's request) is kept before
# `phare retention run` deletes it.
PHARE_JOB_KEEP_DAYS = envint("PHARE_JOB_KEEP_DAYS", "30")
# The largest document (MB) a case keeps (phare.documents).
PHARE_DOCUMENT_MAX_MB = envint("PHARE_DOCUMENT_MAX_MB", "20")
# An upload too large for memory is sealed as it arrives, never kept in clear in a temporary file.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler", "phare.crypto.uploads.SealedUploadHandler"]
# An import of a file of at least PHARE_IMPORT_READER_MIN_BYTES reads it in a second process while it writes
# (phare/imports/reading.py), when the machine has a second core.
PHARE_IMPORT_READER_PROCESS = envbool("PHARE_IMPORT_READER_PROCESS", "True")
PHARE_IMPORT_READER_MIN_BYTES = envint("PHARE_IMPORT_READER_MIN_BYTES", str(1 << 20))
# An export (CSV or JSON) of at least PHARE_EXPORT_WRITER_MIN_CASES cases makes its file's text in a second process
# while it reads the cases (phare/imports/writing.py), when the machine has a second core. The case list's own
# exports (up to EXPORT_INLINE cases, while the person waits) stay in the web process.
PHARE_EXPORT_WRITER_PROCESS = envbool("PHARE_EXPORT_WRITER_PROCESS", "True")
PHARE_EXPORT_WRITER_MIN_CASES = envint("PHARE_EXPORT_WRITER_MIN_CASES", "10000")
# What an imported file may hold before it is read (docs/import.md): a small XLSX can claim billions of cells.
PHARE_IMPORT_MAX_MB = envint("PHARE_IMPORT_MAX_MB", "512")
PHARE_IMPORT_MAX_ROWS = envint("PHARE_IMPORT_MAX_ROWS", "1000000")
PHARE_IMPORT_MAX_CELLS = envint("PHARE_IMPORT_MAX_CELLS", "20000000")
PHARE_IMPORT_MAX_CELL_CHARS = envint("PHARE_IMPORT_MAX_CELL_CHARS", "32767")
PHARE_IMPORT_MAX_JSON_DEPTH = envint("PHARE_IMPORT_MAX_JSON_DEPTH", "64")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The follow-up indexes carry uid and id as included columns so PostgreSQL answers from the index alone; SQLite
# builds the same index without them, which is all it needs, so its warning on every command is noise.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ar", "العربية"),
    ("pt", "Português"),
    ("ru", "Русский"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.getenv("TIME_ZONE", "UTC")
USE_I18N = True
# Dates and times in the reader's language: Django's locale formats, with the gaps it leaves filled (phare/formats).
FORMAT_MODULE_PATH = ["phare.formats"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Master key for personal-data encryption, kept outside the database: PHARE_MASTER_KEY (base64 of 32 bytes)
# or this file; unset, a developer key is created at DATA_DIR/master.key (mode 0600). See phare/crypto/keys.py.
PHARE_MASTER_KEY_FILE = os.getenv("PHARE_MASTER_KEY_FILE", "")

# Sessions end after 15 minutes idle and 12 hours at most, and at once when the user's role, organisation or
# active flag changes (User.get_session_auth_hash; enforced by phare.accounts.middleware).
PHARE_IDLE_TIMEOUT = envint("PHARE_IDLE_TIMEOUT", "900")
PHARE_SESSION_MAX_AGE = 12 * 3600
# The demo organisation (`phare run`): its users are enrolled with known authenticator secrets and `phare demo code`
# prints their codes. No other organisation's users ever are.
PHARE_DEMO_ORG = "demo"
# Hours a one-time enrolment code (what a user needs, with their password, to enrol a second factor) stays valid.
PHARE_ENROLMENT_CODE_HOURS = envint("PHARE_ENROLMENT_CODE_HOURS", "72")
# How long dashboards may show counts older than the data while the worker recounts (seconds).
PHARE_DASHBOARD_STALE_SECONDS = envint("PHARE_DASHBOARD_STALE_SECONDS", "900")
# Memory (MB) PostgreSQL may give each sort or hash while a dashboard is counted (its `work_mem`, for that only;
# the count also runs without JIT compilation: phare.dashboards.queries._compute).
PHARE_DASHBOARD_WORK_MEM_MB = envint("PHARE_DASHBOARD_WORK_MEM_MB", "32")
# An organisation one of whose dashboard counts of the last two days took this long (seconds) or longer has new
# filters counted by the worker, the page saying so and reloading itself, rather than held open while it counts.
PHARE_DASHBOARD_INLINE_SECONDS = envint("PHARE_DASHBOARD_INLINE_SECONDS", "2")
SESSION_COOKIE_AGE = 12 * 3600
# Django's database sessions (the same table and rows), each read with a query built once per process.
SESSION_ENGINE = "phare.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# A refused form gets the site's page, in the reader's language (phare/core/errors.py).
CSRF_FAILURE_VIEW = "phare.core.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Production sits behind an HTTPS proxy (docs/deploy.md); a laptop runs plain HTTP on loopback.
SECURE = envbool("SECURE", "False")
if SECURE and (SECRET_KEY.startswith("dev-only-") or len(SECRET_KEY) < 50):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECURE=true needs a random SECRET_KEY of at least 50 characters")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
if SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Addresses or networks (CIDR) of the reverse proxies in front of Phare, comma-separated. Only when the peer is
# one of them is X-Forwarded-For read (right to left, skipping these hops) for the client's real address, which
# the sign-in throttle counts by and the audit log records (phare/accounts/proxies.py, docs/deploy.md).
PHARE_TRUSTED_PROXIES = [p.strip() for p in os.getenv("PHARE_TRUSTED_PROXIES", "").split(",") if p.strip()]
for _proxy in PHARE_TRUSTED_PROXIES:
    import ipaddress

    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"PHARE_TRUSTED_PROXIES: {_proxy!r} is not an address or a network") from None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
}
