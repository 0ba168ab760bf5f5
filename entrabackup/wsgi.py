"""WSGI entry point for the backup server (any WSGI server; `make demo` uses Django's own)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entrabackup.settings")
application = get_wsgi_application()
# What is loaded by now (Django, the apps, the URLconf and every view it imports) lives as long as the process:
# frozen out of the garbage collector's sight, a full collection scans what requests leave behind instead of
# some 130,000 objects - it cost ~90 ms, every twentieth request of the home page (docs/benchmarks.md).
get_resolver().url_patterns  # noqa: B018 - imports every view now, so they are frozen too
gc.freeze()
