"""Mint tokens the way the Auth service does, with the real SimpleJWT.

Usage: python mint_tokens.py [SIGNING_KEY]   (or SIMPLEJWT_SIGNING_KEY in the env)

Prints one JSON object: `valid` {access, refresh}, `expired_access`,
`refresh_as_access`, `other_key` {access, refresh}, `no_uuid` {access, refresh}
and `claims` (the custom claims of `valid`). No database is touched: the user is
never saved and the blacklist app is not installed.
"""

import json
import os
import secrets
import sys
import uuid
from datetime import timedelta

import django
from django.conf import settings

SIGNING_KEY = sys.argv[1] if len(sys.argv) > 1 else os.environ["SIMPLEJWT_SIGNING_KEY"]

# The Auth service's settings, reduced to what SimpleJWT reads; everything not
# named here keeps SimpleJWT's defaults (5-minute access, 1-day refresh, ...).
settings.configure(
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework_simplejwt",
    ],
    USE_TZ=True,
    SECRET_KEY=secrets.token_urlsafe(40),  # Django's own; SimpleJWT signs with SIGNING_KEY
    SIMPLE_JWT={"SIGNING_KEY": SIGNING_KEY, "ALGORITHM": "HS256"},
)
django.setup()

# Imported after setup: they read settings and models at import time.
from django.contrib.auth.models import User  # noqa: E402
from rest_framework_simplejwt.backends import TokenBackend  # noqa: E402
from rest_framework_simplejwt.exceptions import TokenError  # noqa: E402
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402
from rest_framework_simplejwt.utils import aware_utcnow  # noqa: E402

USER_UUID = str(uuid.uuid4())


def custom_claims(user):
    """The claims the Auth service adds for its other services to read."""
    return {
        "user_uuid": USER_UUID,  # in the Auth service: the user's profile UUID
        "user_email": user.email,
        "user_is_staff": user.is_staff,
        "user_is_superuser": user.is_superuser,
        "user_first_name": user.first_name,
        "user_last_name": user.last_name,
    }


class AuthServiceTokenSerializer(TokenObtainPairSerializer):
    """The Auth service's override: custom claims go on the refresh token, and
    `refresh.access_token` copies them onto the access token."""

    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)  # RefreshToken.for_user(user)
        for name, value in custom_claims(user).items():
            token[name] = value
        return token


user = User(
    id=7,
    username="ada",
    email="ada@example.com",
    first_name="Ada",
    last_name="Lovelace",
    is_staff=True,
    is_superuser=False,
)


def pair(refresh):
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def simplejwt_accepts(token):
    """SimpleJWT's own verdict, as `JWTAuthentication` would give it."""
    try:
        AccessToken(token)
        return True
    except TokenError:
        return False


valid = AuthServiceTokenSerializer.get_token(user)

# Issued an hour ago: its 5-minute lifetime is long over.
expired = valid.access_token
an_hour_ago = aware_utcnow() - timedelta(hours=1)
expired.set_iat(at_time=an_hour_ago)
expired.set_exp(from_time=an_hour_ago)

# Same claims, signed by an Auth service configured with another key.
other_backend = TokenBackend("HS256", secrets.token_urlsafe(40))
other_key = {
    "access": other_backend.encode(valid.access_token.payload),
    "refresh": other_backend.encode(valid.payload),
}

no_uuid = AuthServiceTokenSerializer.get_token(user)
del no_uuid["user_uuid"]

tokens = {
    "valid": pair(valid),
    "expired_access": str(expired),
    "refresh_as_access": str(valid),
    "other_key": other_key,
    "no_uuid": pair(no_uuid),
    "claims": custom_claims(user),
}

# Sanity check against SimpleJWT itself: only `no_uuid` is a valid SimpleJWT
# access token that the service must still refuse (its middleware's own rule).
assert simplejwt_accepts(tokens["valid"]["access"])
assert simplejwt_accepts(tokens["no_uuid"]["access"])
for rejected in (tokens["expired_access"], tokens["refresh_as_access"], other_key["access"]):
    assert not simplejwt_accepts(rejected)

json.dump(tokens, sys.stdout)
print()
