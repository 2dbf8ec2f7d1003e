"""The tokens' custom claims: what the services behind the login read."""

from rest_framework_simplejwt import serializers


def custom_claims(user):
    return {
        "user_uuid": str(user.uuid),
        "user_email": user.email,
        "user_is_staff": user.is_staff,
        "user_is_superuser": user.is_superuser,
        "user_first_name": user.first_name,
        "user_last_name": user.last_name,
    }


class TokenObtainPairSerializer(serializers.TokenObtainPairSerializer):
    """SimpleJWT's documented way to add claims: on the refresh token, which
    copies them onto every access token made from it (at login and at each
    refresh)."""

    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        for name, value in custom_claims(user).items():
            token[name] = value
        return token
