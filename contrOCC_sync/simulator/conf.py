"""The simulator's settings, for its own code.

`django.conf.settings` typed as Any: the project's mypy checks settings access against the portal's
settings module, which knows none of BACKOFFICE_*; at run time this is the very same object.
"""

from typing import Any

from django.conf import settings as django_settings

settings: Any = django_settings
