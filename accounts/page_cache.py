"""The directory drawn once per change: kept per viewer until anything in the organization changes.

A decision (docs/architecture.md, "The directory is drawn once per change"): an admin opens the
directory, pages, filters, comes back to it after each user's page; between two changes in the
organization the same address draws the same markup. Drawing it is most of what the page costs
(bench/README.md), so it is kept in the "pages" cache (each process's memory, bounded: see
settings.CACHES) and served from there until the organization changes.

Key-based expiry: nothing is ever deleted or invalidated. The key holds the organization's
version, read from the database on every request before any of the page's own queries, so a
change makes a new key at once, in every process of every server, and the old entry lapses
(PAGE_CACHE_SECONDS, or sooner: the cache keeps a bounded number of pages).
The version is one query of three index reads (with the viewer's roles, which the rulebook
is asked about next):

- the head of the organization's audit chain (its hash, not its number: a page drawn inside a
  transaction that rolled back, as a test's, may have seen a head whose number a later change
  takes again; it never has that change's hash). Every change PartnerHub makes in an organization
  (a user added, edited, deactivated, reactivated or deleted, a role granted or revoked, a
  password set, an invitation accepted, the organization edited, an import's chunk, a change in
  the support admin or through the API) writes its audit event in the same transaction
  (DOMAIN.md, Audit), so the moment the change can be read, so can the new head;
- the organization's latest sign-ins: a sign-in is not a change and is not audited, and the
  directory shows it. The latest five (who and the latest time, on the (organization,
  last_login) index), not the latest alone: a sign-in stamped a moment before another that
  committed first (two at once, or app servers whose clocks differ a little) still changes
  the five;
- the organization's newest user: a user written without an event (a fixture, a seed) still
  shows at once (the (organization, created_at) index).

Besides the organization, the key holds everything else the markup depends on: the viewer (their
roles decide the actions offered, their name and theme the header: their roles and name change
only through audited changes, their theme is in the key), the whole address, the time zone,
whether htmx asked, whether the session passed its second factor, and the release (the static
files' manifest, so a deploy never serves the previous release's markup). The CSRF token is the
only part of the markup that differs per response: the page is drawn with a placeholder no
stored text can hold (a NUL character, refused in every field) and no address can guess (random
per process), which each response replaces with the request's own token. A page with a
message to show is drawn, and neither read nor kept.

Where it does not reach, written down: a change made behind PartnerHub's services (SQL by hand,
Django's `changepassword`, `seed_demo` rewriting the demo's people), a sign-in stamped before the
five latest, and filters relative to the clock ("more than 30 days ago") show within
PAGE_CACHE_SECONDS. Any viewer may fill their process's pages with distinct addresses, pushing
out others' pages: that costs their drawing again, never a wrong page.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

from accounts.models import AuditEvent, User
from roles import rules
from roles.models import Role, RoleAssignment

logger = logging.getLogger(__name__)

# What the templates draw where the CSRF token goes; replaced on every response. Random, drawn
# once per process (the cache is the process's own): a value typed into the address, which a
# form draws back, cannot be it and so never becomes the token. Its NUL cannot be in any value a
# user can store (PostgreSQL refuses it in text; the forms refuse control characters).
CSRF_PLACEHOLDER = f"\x00csrf-{secrets.token_hex(16)}\x00"
_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
# The cache that keeps the pages (settings.CACHES: each process's memory, bounded) and the
# largest page it keeps, in bytes (a page of 25 users is about 80 kB, of 100 about 230 kB).
CACHE = "pages"
LARGEST = 400_000
# Raised when what is kept changes shape, so entries of the old shape are never read.
FORMAT = 1


def read_version(viewer: User) -> tuple[object, ...]:
    """The version of the viewer's organization (the head of its audit chain, its newest user,
    its latest sign-ins: the module's docstring says why each) and, in the same query, the viewer's
    roles, which the rulebook is asked about next (rules.remember_held_roles). Written as SQL,
    three short index reads and a join: it runs on every request, and the ORM took longer to compile
    it than the database to answer."""
    events, users = AuditEvent._meta.db_table, User._meta.db_table
    assignments, roles = RoleAssignment._meta.db_table, Role._meta.db_table
    organization_id = viewer.organization_id
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {roles}.key,"  # noqa: S608 (table names from the models)
            f" (SELECT hash FROM {events} WHERE organization_id = %s"
            " ORDER BY sequence DESC LIMIT 1),"
            f" (SELECT created_at FROM {users} WHERE organization_id = %s"
            " ORDER BY created_at DESC LIMIT 1),"
            " recent.ids, recent.latest"
            " FROM (SELECT 1 AS one) viewer"
            " CROSS JOIN (SELECT SUM(id) AS ids, MAX(last_login) AS latest FROM"
            f" (SELECT id, last_login FROM {users} WHERE organization_id = %s"
            " AND last_login IS NOT NULL ORDER BY last_login DESC LIMIT 5) latest_five) recent"
            f" LEFT JOIN {assignments} ON {assignments}.user_id = %s"
            f" LEFT JOIN {roles} ON {roles}.id = {assignments}.role_id",
            [organization_id, organization_id, organization_id, viewer.pk],
        )
        found = cursor.fetchall()
    rules.remember_held_roles(viewer, {key for key, *_ in found if key is not None})
    return tuple(found[0][1:])


@cache
def _release() -> str:
    """The static files' manifest hash (empty while developing, without a manifest)."""
    return str(getattr(staticfiles_storage, "manifest_hash", "") or "")


def _key(request: HttpRequest, name: str, version: tuple[object, ...]) -> str:
    viewer = request.user
    is_verified = getattr(viewer, "is_verified", None)
    parts = (
        FORMAT,
        _release(),
        name,
        viewer.pk,
        viewer.theme_preference,
        bool(is_verified and is_verified()),
        timezone.get_current_timezone_name(),
        bool(getattr(request, "htmx", False)),
        request.get_full_path(),
        *version,
    )
    digest = hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"page:{name}:{digest}"


def _with_token(request: HttpRequest, markup: bytes) -> bytes:
    if _PLACEHOLDER_BYTES in markup:
        return markup.replace(_PLACEHOLDER_BYTES, get_token(request).encode())
    return markup


def cached_page(
    request: HttpRequest,
    name: str,
    action: rules.Action,
    draw: Callable[[dict[str, object]], HttpResponse],
) -> HttpResponse:
    """The page `draw` answers for this request, kept per viewer until their organization
    changes, for a viewer the rulebook allows `action` (asked first, on every request).
    `draw(extra_context)` renders the page with extra_context added to its context (the CSRF
    placeholder); it is called only on a miss."""
    viewer = request.user
    version = read_version(viewer) if viewer.organization_id is not None else None
    rules.require(rules.can(viewer, action), action)
    seconds = settings.PAGE_CACHE_SECONDS
    if not seconds or version is None or len(messages.get_messages(request)):
        return draw({})
    key = _key(request, name, version)
    markup = _read(key)
    if markup is None:
        response = draw({"csrf_token": CSRF_PLACEHOLDER})
        markup = response.content  # kept as the bytes sent: nothing decoded or encoded again
        if response.status_code != 200:
            response.content = _with_token(request, markup)
            return response
        _keep(key, markup, seconds)
    return HttpResponse(_with_token(request, markup))


# A cache that does not answer (if "pages" is set to a server, as Redis, that is down) costs the
# page its drawing, logged, never the page itself.


def _read(key: str) -> bytes | None:
    try:
        return caches[CACHE].get(key)
    except Exception:
        logger.warning("The page cache could not be read; the page is drawn.", exc_info=True)
        return None


def _keep(key: str, markup: bytes, seconds: int) -> None:
    try:
        if len(markup) <= LARGEST:
            caches[CACHE].set(key, markup, seconds)
    except Exception:
        logger.warning("The page cache could not keep a page.", exc_info=True)
