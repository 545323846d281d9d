"""The product's settings, with the bench URLconf (a reference admin and a trivial view).

The bench-only URLs live here, not in the product: partnerhub.urls gains nothing.
"""

import tempfile
from pathlib import Path

from partnerhub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Collected apart from the project's staticfiles/, so a bench run and a deployment never share it.
STATIC_ROOT = Path(tempfile.gettempdir()) / "partnerhub-bench-static"

# The permission table's walk posts forms that send email (Forgot password?): never deliver.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
