"""Settings of the Auth service stand-in: a small Django project that signs
users in and hands out SimpleJWT tokens in cookies, as the Auth service the
generated services interoperate with does.

Everything a test varies comes from the environment (`AUTH_SERVICE_*`, see
tests/interop/README.md); the defaults are SimpleJWT's own where it has one.
"""

import os
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured


def env(name, default=None):
    value = os.environ.get(f"AUTH_SERVICE_{name}", default)
    if value is None:
        raise ImproperlyConfigured(f"AUTH_SERVICE_{name} is not set")
    return value


def env_flag(name):
    return env(name, "0").lower() in {"1", "true", "yes"}


def env_list(name):
    return [item.strip() for item in env(name, "").split(",") if item.strip()]


def rsa_private_key(path):
    """The PEM private key at `path`, generated there on first use."""
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        partial = path.with_suffix(".partial")
        partial.write_bytes(pem)
        partial.chmod(0o600)
        partial.replace(path)
    return path.read_text()


def public_pem(private_pem):
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


# Where its state lives: the SQLite database and, with RS256, the key pairs.
STATE_DIR = Path(env("DIR"))

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", *env_list("ALLOWED_HOSTS")]
SECRET_KEY = os.environ.get("AUTH_SERVICE_DJANGO_SECRET_KEY") or os.urandom(32).hex()

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework_simplejwt",
    "auth_service",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "auth_service.urls"
WSGI_APPLICATION = "auth_service.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": STATE_DIR / "auth.sqlite3"}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "auth_service.User"
# A stand-in for tests: a fast hasher, so that signing in takes milliseconds.
# A real Auth service keeps Django's default (PBKDF2).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
# Hosts besides its own that `next` may point at: the services behind the
# login (host[:port], as Django's `url_has_allowed_host_and_scheme` compares).
REDIRECT_ALLOWED_HOSTS = set(env_list("REDIRECT_HOSTS"))

# The two cookies the services read (SPEC.md, "The Auth service we
# interoperate with"), set on the parent domain the services share (None:
# this host only).
JWT_ACCESS_COOKIE = env("ACCESS_COOKIE", "org.breakthesystem.jwt.access")
JWT_REFRESH_COOKIE = env("REFRESH_COOKIE", "org.breakthesystem.jwt.refresh")
JWT_COOKIE_DOMAIN = env("COOKIE_DOMAIN", "") or None
JWT_COOKIE_SECURE = env_flag("COOKIE_SECURE")

ALGORITHM = env("ALGORITHM", "HS256")
if ALGORITHM.startswith("HS"):
    SIGNING_KEY = env("SIGNING_KEY")
    VERIFYING_KEY = ""  # HS* verifies with the signing key
    # Published in the JWKS before it signs anything; none for a shared secret.
    NEXT_VERIFYING_KEY = ""
elif ALGORITHM.startswith("RS"):
    SIGNING_KEY = rsa_private_key(STATE_DIR / "signing_key.pem")
    VERIFYING_KEY = public_pem(SIGNING_KEY)
    # Key rotation: the next key is published ahead of its first signature.
    NEXT_VERIFYING_KEY = (
        public_pem(rsa_private_key(STATE_DIR / "next_signing_key.pem"))
        if env_flag("PUBLISH_NEXT_KEY")
        else ""
    )
else:
    raise ImproperlyConfigured(f"AUTH_SERVICE_ALGORITHM: {ALGORITHM!r} is neither HS* nor RS*")

SIMPLE_JWT = {
    "ALGORITHM": ALGORITHM,
    "SIGNING_KEY": SIGNING_KEY,
    "VERIFYING_KEY": VERIFYING_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(env("ACCESS_LIFETIME_SECS", "300"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=int(env("REFRESH_LIFETIME_SECS", "86400"))),
    "ROTATE_REFRESH_TOKENS": env_flag("ROTATE_REFRESH_TOKENS"),
    # The custom claims the services read (tokens.py).
    "TOKEN_OBTAIN_SERIALIZER": "auth_service.tokens.TokenObtainPairSerializer",
}
REST_FRAMEWORK = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

# The test's switch: the JWKS answers 503 until `POST /test/jwks/up/`.
JWKS_STARTS_DOWN = env_flag("JWKS_DOWN")
