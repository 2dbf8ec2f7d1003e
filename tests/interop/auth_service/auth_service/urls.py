from django.conf import settings
from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import refresh, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("refresh/", refresh.refresh, name="refresh"),
    path("jwks/", views.jwks, name="jwks"),
    # SimpleJWT's JSON API, for clients that send `Authorization: Bearer`.
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
]
if settings.JWKS_STARTS_DOWN:
    urlpatterns.append(path("test/jwks/up/", views.jwks_up, name="jwks_up"))
