"""WSGI entry point for production servers (gunicorn, granian)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from sanan.core.serving import end_with_the_server, without_process_environment

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanan.settings")
application = get_wsgi_application()
if end_with_the_server():  # a granian worker: it ends with its server's main process
    application = without_process_environment(application)

# Every view imported now, then what start-up made is left out of the garbage collector's
# full collections, which would otherwise walk it during some request: one list call in ten or
# twenty took 150-400 ms instead of 30-70, all of the difference in one full collection.
get_resolver().url_patterns  # noqa: B018 (imports the URLconf and the views)
gc.freeze()
