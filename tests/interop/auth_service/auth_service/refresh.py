"""`GET /refresh/?next=<url>`: renews an expired session without a login form.

A service that gets an expired access token together with the refresh cookie
sends the browser here (its `auth.refresh_url`) with the `next` it would give
the login page. SimpleJWT's own `TokenRefreshSerializer` turns the refresh
cookie into a new access token (and, with `ROTATE_REFRESH_TOKENS`, a new
refresh token); they go back into the cookies and the browser returns to
`next`. Without a usable refresh cookie, the user signs in again.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from .cookies import set_jwt_cookies


@require_GET
@never_cache
def refresh(request):
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url,
        allowed_hosts={request.get_host(), *settings.REDIRECT_ALLOWED_HOSTS},
        require_https=request.is_secure(),
    ):
        next_url = resolve_url(settings.LOGIN_REDIRECT_URL)

    refresh_token = request.COOKIES.get(settings.JWT_REFRESH_COOKIE, "")
    serializer = TokenRefreshSerializer(data={"refresh": refresh_token})
    try:
        serializer.is_valid(raise_exception=True)
    except (TokenError, APIException, ObjectDoesNotExist):
        # No cookie; an expired, forged or blacklisted token; a user who is
        # gone or inactive.
        return redirect_to_login(next_url)

    response = HttpResponseRedirect(next_url)
    set_jwt_cookies(response, **serializer.validated_data)
    return response
