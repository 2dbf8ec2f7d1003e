"""Runs the Auth service stand-in on 127.0.0.1, ready in about a second.

    AUTH_SERVICE_DIR=/tmp/auth AUTH_SERVICE_SIGNING_KEY=... python serve.py

Start-up: migrates its SQLite database in AUTH_SERVICE_DIR (a new temporary
folder when unset), creates or updates the user who signs in
(AUTH_SERVICE_USERNAME, default `ada`, with AUTH_SERVICE_PASSWORD, default
`ada`), then serves with Django's threaded WSGI server (the one `runserver`
uses, without its autoreloader and system checks) on AUTH_SERVICE_PORT (0,
the default: any free port). Once it accepts connections it prints one line,

    auth-service listening on http://127.0.0.1:<port>/

which whoever started it waits for. Each request is logged on stderr; request
lines hold no token (tokens travel in cookies and bodies).
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auth_service.settings")
if not os.environ.get("AUTH_SERVICE_DIR"):
    os.environ["AUTH_SERVICE_DIR"] = tempfile.mkdtemp(prefix="auth-service-")
    print(f"auth-service state in {os.environ['AUTH_SERVICE_DIR']}", flush=True)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import (  # noqa: E402
    ThreadedWSGIServer,
    WSGIRequestHandler,
    get_internal_wsgi_application,
)


def create_user():
    user, _ = get_user_model().objects.update_or_create(
        username=os.environ.get("AUTH_SERVICE_USERNAME", "ada"),
        defaults={
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "is_staff": True,
            "is_superuser": False,
        },
    )
    user.set_password(os.environ.get("AUTH_SERVICE_PASSWORD", "ada"))
    user.save()


def main():
    call_command("migrate", verbosity=0, interactive=False)
    create_user()
    port = int(os.environ.get("AUTH_SERVICE_PORT", "0"))
    server = ThreadedWSGIServer(("127.0.0.1", port), WSGIRequestHandler)
    server.set_app(get_internal_wsgi_application())
    host, port = server.server_address[:2]
    print(f"auth-service listening on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
