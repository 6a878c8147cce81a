"""WSGI entry point of the simulated back office: `gunicorn contrOCC_sync.simulator.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

# Forced, not defaulted: this process must never load the portal's settings.
os.environ["DJANGO_SETTINGS_MODULE"] = "contrOCC_sync.simulator.settings"

application = get_wsgi_application()
