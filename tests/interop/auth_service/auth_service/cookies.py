"""The two cookies that carry the tokens to the services on the shared domain."""

from django.conf import settings
from rest_framework_simplejwt.settings import api_settings


def set_jwt_cookies(response, access, refresh=None):
    """Sets the access cookie and, when given, the refresh cookie.

    Both live as long as a refresh token: a service that finds an expired
    access token next to the refresh cookie sends the browser to `/refresh/`
    for a new one, instead of to the login form.
    """
    for name, token in (
        (settings.JWT_ACCESS_COOKIE, access),
        (settings.JWT_REFRESH_COOKIE, refresh),
    ):
        if token:
            response.set_cookie(
                name,
                token,
                max_age=api_settings.REFRESH_TOKEN_LIFETIME,
                path="/",
                domain=settings.JWT_COOKIE_DOMAIN,
                secure=settings.JWT_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
