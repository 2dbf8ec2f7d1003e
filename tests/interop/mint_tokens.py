"""Mint the tokens the Auth service never hands out, with the real SimpleJWT.

Usage: python mint_tokens.py, in the environment of a running Auth service
stand-in (auth_service/serve.py): the same AUTH_SERVICE_* variables, so the
same SimpleJWT settings, keys and database.

The valid tokens come from signing in at that Auth service. This prints the
crafted ones, each for its user and differing from a valid token in one way:
`expired_access` (issued an hour ago), `refresh_as_access` (a valid refresh
token, offered as an access token), `other_key` {access, refresh} (signed with
another key of the same algorithm), `no_uuid` {access, refresh} (a pair
SimpleJWT accepts, without `user_uuid`), and `claims`, the custom claims of
the user's valid tokens. Keys are never printed; nothing is written.
"""

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "auth_service"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auth_service.settings")

import django  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

django.setup()

# Imported after setup: they read settings and models at import time.
from auth_service.tokens import TokenObtainPairSerializer, custom_claims  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from rest_framework_simplejwt.backends import TokenBackend  # noqa: E402
from rest_framework_simplejwt.exceptions import TokenError  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402
from rest_framework_simplejwt.utils import aware_utcnow  # noqa: E402


def simplejwt_accepts(token):
    """SimpleJWT's own verdict, as `JWTAuthentication` would give it."""
    try:
        AccessToken(token)
        return True
    except TokenError:
        return False


def other_signing_key():
    """A key of the same algorithm that the Auth service does not sign with."""
    if settings.ALGORITHM.startswith("HS"):
        return secrets.token_urlsafe(40)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


user = get_user_model().objects.get(username=os.environ.get("AUTH_SERVICE_USERNAME", "ada"))
valid = TokenObtainPairSerializer.get_token(user)

# Issued an hour ago: its access lifetime is long over.
expired = valid.access_token
an_hour_ago = aware_utcnow() - timedelta(hours=1)
expired.set_iat(at_time=an_hour_ago)
expired.set_exp(from_time=an_hour_ago)

# Same claims, signed by an Auth service configured with another key.
other_backend = TokenBackend(settings.ALGORITHM, other_signing_key())
other_key = {
    "access": other_backend.encode(valid.access_token.payload),
    "refresh": other_backend.encode(valid.payload),
}

no_uuid = TokenObtainPairSerializer.get_token(user)
del no_uuid["user_uuid"]

tokens = {
    "expired_access": str(expired),
    "refresh_as_access": str(valid),
    "other_key": other_key,
    "no_uuid": {"access": str(no_uuid.access_token), "refresh": str(no_uuid)},
    "claims": custom_claims(user),
}

# Sanity check against SimpleJWT itself: only `no_uuid` is a valid SimpleJWT
# access token that the service must still refuse (its middleware's own rule).
assert simplejwt_accepts(str(valid.access_token))
assert simplejwt_accepts(tokens["no_uuid"]["access"])
for rejected in (tokens["expired_access"], tokens["refresh_as_access"], other_key["access"]):
    assert not simplejwt_accepts(rejected)

json.dump(tokens, sys.stdout)
print()
