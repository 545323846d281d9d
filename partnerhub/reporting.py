"""What Django's error reports (the debug page, the emails to admins) may show of the settings."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, also hiding settings that may carry a password inside a URL: EMAIL_URL,
    REDIS_URL, the cache's LOCATION."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|LOCATION", flags=re.IGNORECASE
    )
