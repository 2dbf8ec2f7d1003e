"""Mint tokens the way the Auth service does, with the real SimpleJWT.

Usage:
  python mint_tokens.py [SIGNING_KEY]    HS256 (SimpleJWT's default) with a shared
                                         key (or SIMPLEJWT_SIGNING_KEY in the env)
  SIMPLEJWT_ALGORITHM=RS256 python mint_tokens.py
                                         RS256 with a fresh RSA key pair: an Auth
                                         service that publishes its key as a JWKS

Prints one JSON object: `valid` {access, refresh}, `expired_access`,
`refresh_as_access`, `other_key` {access, refresh} (signed with another key of
the same algorithm), `no_uuid` {access, refresh} and `claims` (the custom claims
of `valid`). With RS256 it also holds `jwks`, a JSON Web Key Set with the
verifying key (kid "auth-service") after an unrelated RSA key (kid "unrelated"),
so that a kid-less token has to be matched against more than one key. The
private keys are never printed. No database is touched: the user is never saved
and the blacklist app is not installed.
"""

import json
import os
import secrets
import sys
import uuid
from datetime import timedelta

import django
import jwt  # PyJWT, which SimpleJWT signs with
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from jwt.algorithms import RSAAlgorithm

ALGORITHM = os.environ.get("SIMPLEJWT_ALGORITHM", "HS256")


def rsa_key_pair():
    """A private key in PEM (SimpleJWT's `SIGNING_KEY`) and its public key."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, private_key.public_key()


def public_pem(public_key):
    """The public key in PEM (SimpleJWT's `VERIFYING_KEY`)."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def jwk(public_key, kid):
    """The public key as the Auth service's JWKS endpoint publishes it."""
    key = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    key.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return key


if ALGORITHM == "HS256":
    SIGNING_KEY = sys.argv[1] if len(sys.argv) > 1 else os.environ["SIMPLEJWT_SIGNING_KEY"]
    VERIFYING_KEY = ""  # SimpleJWT's default: HS* verifies with SIGNING_KEY
    OTHER_SIGNING_KEY = secrets.token_urlsafe(40)
elif ALGORITHM == "RS256":
    SIGNING_KEY, PUBLIC_KEY = rsa_key_pair()
    VERIFYING_KEY = public_pem(PUBLIC_KEY)
    OTHER_SIGNING_KEY, _ = rsa_key_pair()
else:
    sys.exit(f"SIMPLEJWT_ALGORITHM: {ALGORITHM!r} is neither HS256 nor RS256")

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
    SIMPLE_JWT={
        "ALGORITHM": ALGORITHM,
        "SIGNING_KEY": SIGNING_KEY,
        "VERIFYING_KEY": VERIFYING_KEY,
    },
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
other_backend = TokenBackend(ALGORITHM, OTHER_SIGNING_KEY)
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

if ALGORITHM == "RS256":
    # The unrelated key comes first: a service that tried only the first key
    # of the set would refuse every valid token.
    _, unrelated = rsa_key_pair()
    tokens["jwks"] = {"keys": [jwk(unrelated, "unrelated"), jwk(PUBLIC_KEY, "auth-service")]}

    # SimpleJWT sets no `kid`, so the service cannot pick the key by its id.
    assert "kid" not in jwt.get_unverified_header(tokens["valid"]["access"])
    # The published key is the one SimpleJWT verifies with.
    published = RSAAlgorithm.from_jwk(tokens["jwks"]["keys"][1])
    assert public_pem(published) == VERIFYING_KEY

json.dump(tokens, sys.stdout)
print()
