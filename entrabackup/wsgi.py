"""WSGI entry point for the backup server (any WSGI server; `make demo` uses Django's own)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entrabackup.settings")
application = get_wsgi_application()
