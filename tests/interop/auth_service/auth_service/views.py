"""The Auth service's other pages: the login form, its JSON Web Key Set, and a
home page to land on when `next` is missing or points elsewhere."""

import threading

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.html import format_html
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from jwt.algorithms import RSAAlgorithm

from .cookies import set_jwt_cookies
from .tokens import TokenObtainPairSerializer


@require_GET
def home(request):
    if request.user.is_authenticated:
        return HttpResponse(format_html("<p>Signed in as {}.</p>", request.user.get_username()))
    return HttpResponse('<p>Not signed in. <a href="/login/">Sign in</a>.</p>')


class LoginView(auth_views.LoginView):
    """Django's login form and session; on success, also the two JWT cookies,
    and back to `next` when it is on this host or a service's."""

    template_name = "auth_service/login.html"

    def get_success_url_allowed_hosts(self):
        return {*super().get_success_url_allowed_hosts(), *settings.REDIRECT_ALLOWED_HOSTS}

    def form_valid(self, form):
        response = super().form_valid(form)
        refresh = TokenObtainPairSerializer.get_token(form.get_user())
        set_jwt_cookies(response, access=str(refresh.access_token), refresh=str(refresh))
        return response


# Up, unless the test starts it down (AUTH_SERVICE_JWKS_DOWN=1).
jwks_available = threading.Event()
if not settings.JWKS_STARTS_DOWN:
    jwks_available.set()


def jwk(public_pem):
    """An RSA public key as a JWK. No `kid`: SimpleJWT's tokens carry none."""
    key = RSAAlgorithm.to_jwk(load_pem_public_key(public_pem.encode()), as_dict=True)
    return {
        "kty": key["kty"],
        "n": key["n"],
        "e": key["e"],
        "alg": settings.ALGORITHM,
        "use": "sig",
    }


@require_GET
def jwks(request):
    """`GET /jwks/`: the keys that verify its tokens (RS* only; SimpleJWT
    has no such view). The next key, when published, comes first."""
    if not settings.ALGORITHM.startswith("RS"):
        raise Http404("no public key: tokens are signed with a shared secret")
    if not jwks_available.is_set():
        return JsonResponse({"detail": "JWKS unavailable"}, status=503)
    keys = [jwk(pem) for pem in (settings.NEXT_VERIFYING_KEY, settings.VERIFYING_KEY) if pem]
    response = JsonResponse({"keys": keys})
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt
@require_POST
def jwks_up(request):
    """`POST /test/jwks/up/`, routed only with AUTH_SERVICE_JWKS_DOWN=1: the
    test's switch that brings the JWKS up."""
    jwks_available.set()
    return HttpResponse(status=204)
