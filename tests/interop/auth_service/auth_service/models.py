"""The Auth service's users: Django's, with the stable UUID the services key
their local rows on (the `user_uuid` claim)."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
