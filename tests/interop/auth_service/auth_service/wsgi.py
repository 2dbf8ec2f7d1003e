"""WSGI entry point (serve.py runs it on 127.0.0.1)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auth_service.settings")
application = get_wsgi_application()
