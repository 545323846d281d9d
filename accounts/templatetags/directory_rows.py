"""{% directory_rows rows selectable %}: the directory's table rows, written from Python.

A directory page shows 25 to 100 users; drawn by the template engine, each row's twenty-odd
variables, its loop over the roles and its badges cost more than the rest of the page's markup
(bench/README.md). Here each row is one `fill` call (partnerhub.markup: format_html's escaping
without its per-value lazy-argument check): every value escaped as the template would, the
badges from the same tags the other lists use. `selectable`: the row starts with the checkbox
that ticks the user for a bulk action (the form `bulk-form` in accounts/bulk/bar.html).
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe

from accounts.views.directory import Row
from partnerhub.markup import fill, joined
from partnerhub.templatetags.status_badges import status_badge
from roles.templatetags.role_badges import role_badge

register = template.Library()

NO_ROLES = mark_safe('<span class="text-body-secondary">No roles</span>')

ROW = (
    '<tr role="row">{}'
    '<td role="cell" class="list-title" data-label="Name"><a class="truncate" href="{}"'
    ' hx-get="{}" hx-target="#user-panel" data-user-panel-link title="{}"><bdi>{}</bdi></a></td>'
    '<td role="cell" data-label="Email"><span class="truncate" tabindex="0" title="{}">'
    "<bdi>{}</bdi></span></td>"
    '<td role="cell" data-label="Roles"><span class="role-badges">{}</span></td>'
    '<td role="cell" data-label="Status">{}</td>'
    '<td role="cell" class="tabular text-nowrap" data-label="Created">{}</td>'
    '<td role="cell" class="tabular text-nowrap" data-label="Last sign-in">{}</td></tr>'
)

CHECKBOX = (
    '<td role="cell" class="list-select"><input class="form-check-input" type="checkbox"'
    ' name="user" value="{}" form="bulk-form" id="select-{}" aria-label="Select {}"'
    " data-bulk-user></td>"
)


def _row(row: Row, selectable: bool) -> SafeString:
    member = row.member
    name = member.get_full_name()
    checkbox = (
        fill(CHECKBOX, member.public_id, member.public_id, name or member.email)
        if selectable
        else ""
    )
    roles = joined("", (role_badge(role) for role in row.roles)) or NO_ROLES
    return fill(
        ROW,
        checkbox,
        row.url,
        row.url,
        name,
        name,
        member.email,
        member.email,
        roles,
        status_badge(member),
        row.created,
        row.last_sign_in or "Never",
    )


@register.simple_tag
def directory_rows(rows: Iterable[Row], selectable: bool) -> SafeString:
    return joined("\n", (_row(row, bool(selectable)) for row in rows))
