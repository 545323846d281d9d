"""The Django admin of the partner network's support staff: organizations, users, audit events.

Every change to a user or a role goes through the service functions, which ask the rulebook and
write the audit trail; the forms ask the rulebook first so that a refusal shows next to its field.
Support staff never see or set a partner's password: users they add get an emailed invitation.
Their Global admin grants are requests that a second staff member approves (DOMAIN.md rule 12),
and the sensitive actions ask for their password again, as on the partner pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts import audit, services
from accounts.audit import Origin
from accounts.forms.text import EmailAddressField
from accounts.history import sentences
from accounts.invitations import base_url_for_email
from accounts.models import AuditAction, AuditEvent, PartnerOrganization, User
from accounts.paging import UncountedChangeList
from accounts.reauth import ask_for_password, password_recently_confirmed
from accounts.search import fold
from roles import rules
from roles import services as role_services
from roles.catalogue import CATALOGUE, RoleKey
from roles.models import Role, RoleAssignment
from roles.rules import Action, Decision, RuleRefused

GA = RoleKey.GLOBAL_ADMIN

# Shared with roles/admin.py


class PasswordConfirmationNeeded(Exception):
    """Raised by a form about to do something sensitive when the password was last entered too
    long ago: ServiceAdmin sends the person to confirm it, and nothing is saved."""


def password_needed(request: HttpRequest) -> HttpResponse | None:
    """Ask for the password again (accounts.reauth) unless it was entered recently, then come
    back to this page (the changelist keeps its filters); None when it was."""
    if password_recently_confirmed(request):
        return None
    return ask_for_password(request, request.get_full_path())


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nobody adds, changes or deletes these rows here, superusers included."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RulebookForm(audit.RefusalsRecordedForm, forms.ModelForm):
    """A form that asks the rulebook in clean(): a refusal is an error next to its field, so the
    typed input stays, and a refused attempt in the audit trail."""

    request: HttpRequest  # set on the form class by the ModelAdmin's get_form
    requests_global_admin = False  # set by clean(): support staff chose Global admin (rule 12)

    @property
    def refusals_actor(self) -> User:  # type: ignore[override]
        return self.request.user

    @property
    def refusals_origin(self) -> Origin:  # type: ignore[override]
        return Origin.from_request(self.request)

    def refuse_unless(
        self,
        decision: Decision,
        field: str | None,
        audit_action: str,
        *,
        organization: PartnerOrganization | None,
        target: User | None = None,
        target_label: str = "",
        **detail: object,
    ) -> None:
        """Add the decision's reason to the field, a refused attempt, unless it allows."""
        if decision:
            return
        # An invalid form returns normally from the admin's transaction, so the record stays.
        self.add_error(
            field,
            audit.FieldRefused(
                decision.reason,
                action=audit_action,
                organization=organization,
                target=target,
                target_label=target_label,
                **detail,
            ),
        )

    def check_grant(self, user: User, role: Role, **where: Any) -> bool:
        """Ask whether the actor may grant the role to the user, the error on "roles" if not;
        True when it is support staff's Global admin, which is a request (rule 12)."""
        actor = self.request.user
        if rules.can_grant_without_approval(actor, role.key):
            self.refuse_unless(
                rules.can_grant_role(actor, user, role.key),
                "roles" if "roles" in self.fields else "role",
                AuditAction.ROLE_GRANTED,
                **where,
                role=role.key,
            )
            return False
        self.refuse_unless(
            rules.can_request_global_admin(actor, user),
            "roles" if "roles" in self.fields else "role",
            AuditAction.GLOBAL_ADMIN_REQUESTED,
            **where,
        )
        return True

    def confirm_password_before(self, sensitive: bool) -> None:
        """Once the input is valid, a sensitive change needs a recently entered password."""
        if sensitive and not self.errors and not password_recently_confirmed(self.request):
            raise PasswordConfirmationNeeded


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin whose changes go through service functions that may refuse them.

    Django runs the add, change and delete views in a transaction: a RuleRefused raised there by
    a service (a request that raced the form's check) rolls back the service's record of the
    refusal with everything else. So it is caught outside, recorded again and shown as a message.
    Bulk deletion goes one object at a time, each refusal reported.
    """

    form: type[RulebookForm]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request  # a new class on every call, so this is this request's alone
        return form

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RuleRefused as refusal:
            return self._refused(request, refusal, request.get_full_path())
        except PasswordConfirmationNeeded:
            # Raised inside the admin's transaction, which rolled back: nothing was saved.
            return ask_for_password(request, request.get_full_path())

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except RuleRefused as refusal:
            opts = self.model._meta
            change_url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]
            )
            return self._refused(request, refusal, change_url)

    def _refused(self, request: HttpRequest, refusal: RuleRefused, url: str) -> HttpResponse:
        if refusal.audit_context:  # filled in by the service that refused
            audit.record_refusal(refusal)
        messages.error(request, refusal.reason)
        return HttpResponseRedirect(url)

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        # The changelist only sends ids; anything else (a crafted request) selects nothing,
        # rather than failing the query.
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        ids = [value for value in selected if value.isascii() and value.isdecimal()]
        if ids != selected:
            request.POST = request.POST.copy()
            request.POST.setlist(ACTION_CHECKBOX_NAME, ids)
        return super().response_action(request, queryset)

    def one_at_a_time(
        self,
        request: HttpRequest,
        objects: Iterable[models.Model],
        change: Callable[[models.Model, Origin], object],
        done: str,
    ) -> list[models.Model]:
        """Apply a service call to each object in its own transaction; report what was refused.

        Admin actions run outside any transaction, so one refusal stops only its own object.
        """
        origin = Origin.from_request(request)
        changed = []
        for obj in objects:
            try:
                change(obj, origin)
            except RuleRefused as refusal:
                messages.error(request, f"{obj}: {refusal.reason}")
            else:
                changed.append(obj)
        if changed:
            names = ", ".join(str(obj) for obj in changed)
            messages.success(request, f"{done} {len(changed)}: {names}.")
        return changed

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def delete_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Django's confirmation page, then delete_queryset, which reports each refusal.

        Replaces Django's action, which would announce every selected object as deleted.
        """
        if not request.POST.get("post"):
            return admin_actions.delete_selected(self, request, queryset)
        _, _, perms_needed, _ = self.get_deleted_objects(queryset, request)
        if perms_needed:
            raise PermissionDenied
        self.delete_queryset(request, queryset)
        return None


# Partner organizations


# PartnerHub's name where Django's admin says "Django administration".
admin.site.site_header = "PartnerHub support admin"
admin.site.site_title = "PartnerHub support admin"
admin.site.index_title = "Partner organizations, their users and the audit trail"


@admin.register(PartnerOrganization)
class PartnerOrganizationAdmin(ServiceAdmin):
    """Created and edited through the services, so each change is audited. Never deleted here:
    an organization's users and audit trail hold on to it."""

    list_display = ("name", "partner_id", "program_type", "created_at", "users")
    list_filter = ("program_type",)
    search_fields = ("name", "partner_id")
    search_help_text = "Search by name or partner ID."
    readonly_fields = ("public_id", "created_at")
    actions = ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="users")
    def users(self, organization: PartnerOrganization) -> str:
        # A link, not a count: the user list filters by organization without listing them all.
        url = reverse("admin:accounts_user_changelist")
        return format_html(
            '<a href="{}?{}={}">Users</a>', url, ORGANIZATION_PARAMETER, organization.pk
        )

    def save_model(
        self, request: HttpRequest, obj: PartnerOrganization, form: Any, change: bool
    ) -> None:
        fields = {
            field: form.cleaned_data[field] for field in ("name", "partner_id", "program_type")
        }
        origin = Origin.from_request(request)
        if change:
            current = PartnerOrganization.objects.get(pk=obj.pk)
            saved = services.update_organization(request.user, current, origin=origin, **fields)
        else:
            saved = services.create_organization(request.user, origin=origin, **fields)
        obj.pk, obj.public_id, obj.created_at = saved.pk, saved.public_id, saved.created_at


# Partner users


DETAIL_FIELDS = ("first_name", "last_name", "email")
ORGANIZATION_PARAMETER = "organization__id__exact"
# Across a million users, a search needs a word of this many letters: trigrams (three letters)
# find it in an index, while one or two letters would make PostgreSQL read the table.
MIN_SEARCH_LETTERS = 3


class OrganizationFilter(admin.SimpleListFilter):
    """By organization, without listing thousands of them on every page: the organization list
    links here, and the filter names the chosen organization only."""

    title = "organization"
    parameter_name = ORGANIZATION_PARAMETER

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        # Always one choice when a value is given, so that Django applies the filter: a filter
        # without choices is dropped, which would list every organization's users instead.
        value = self.value()
        if value is None:
            return []
        organization_id = self.organization_id()
        organization = (
            PartnerOrganization.objects.filter(pk=organization_id).first()
            if organization_id is not None
            else None
        )
        return [(value, str(organization) if organization else "No such organization")]

    def organization_id(self) -> int | None:
        try:
            value = int(self.value())  # "²" is a digit to str.isdigit, not to int
        except (TypeError, ValueError):
            return None
        return value if 0 < value < 2**63 else None  # a database integer

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() is None:
            return queryset
        organization_id = self.organization_id()
        if organization_id is None:
            return queryset.none()
        return queryset.filter(organization_id=organization_id)


class PartnerIdFilter(admin.SimpleListFilter):
    """By organization, typed: a box for the partner ID, because a list of every organization
    would not fit the sidebar (the organization list's links use OrganizationFilter)."""

    title = "organization (partner ID)"
    parameter_name = "partner_id"
    template = "admin/accounts/user/partner_id_filter.html"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        value = self.value()
        if value is None:
            return []
        organization = PartnerOrganization.objects.filter(partner_id=value).first()
        return [(value, str(organization) if organization else "No organization with this ID")]

    def has_output(self) -> bool:
        return True  # the box, even when nothing is chosen yet

    def choices(self, changelist: Any) -> Iterable[dict[str, Any]]:
        # The box's form keeps the list's other filters, search and order, as hidden fields.
        self.other_parameters = [
            (name, value)
            for name, value in changelist.params.items()
            if name != self.parameter_name
        ]
        yield from super().choices(changelist)

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() is None:
            return queryset
        return queryset.filter(organization__partner_id=self.value().strip())


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(spec.key.value, spec.name) for spec in CATALOGUE]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() is None:
            return queryset
        return queryset.filter(role_assignments__role__key=self.value())


def role_choice_label(role: Role) -> str:
    """A role as a choice: its name and what it unlocks, as DOMAIN.md's add-user flow shows it."""
    csp_only = " (CSP only)" if role.csp_only else ""
    return f"{role.name}{csp_only}: {role.unlocks}"


class PartnerUserForm(RulebookForm):
    # The one email field of every form: canonical form, the same refusals (accounts.identity).
    email = EmailAddressField(label="Email")
    roles = forms.ModelMultipleChoiceField(
        queryset=Role.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].label_from_instance = role_choice_label

    def clean_email(self) -> str:
        # The service checks again under the organization's lock; this puts the error on the field.
        email = self.cleaned_data["email"]
        if User.objects.with_email(email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(services.EmailInUse.message)
        return email


MISSING_ORGANIZATION = (
    "Choose the partner organization this user belongs to. Support staff are not added here: "
    "an operator adds them with manage.py add_support_staff."
)


class UserAddForm(PartnerUserForm):
    class Meta:
        model = User
        fields = ("organization", "first_name", "last_name", "email")
        help_texts = {"organization": "The partner organization the new user belongs to."}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        organization = cleaned.get("organization")
        if organization is None:
            if "organization" not in self.errors:
                # Support staff are added by an operator (manage.py add_support_staff), never
                # here: one support account could approve another's Global admin requests.
                self.add_error("organization", MISSING_ORGANIZATION)
            return cleaned
        actor, email = self.request.user, cleaned.get("email", "")
        self.refuse_unless(
            rules.can(actor, Action.ADD_USER, organization),
            "organization",
            AuditAction.USER_CREATED,
            organization=organization,
            target_label=email,
        )
        new_user = User(organization=organization)
        self.requests_global_admin = False
        for role in cleaned.get("roles", []):
            if self.check_grant(new_user, role, organization=organization, target_label=email):
                self.requests_global_admin = True
        self.confirm_password_before(self.requests_global_admin)
        return cleaned


class UserChangeForm(PartnerUserForm):
    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["roles"] = [a.role_id for a in self.instance.role_assignments.all()]

    def clean(self) -> dict[str, Any]:
        # self.instance is still the user as stored: the form copies the input onto it later.
        cleaned = super().clean()
        actor, user = self.request.user, self.instance
        where = {"organization": user.organization, "target": user}
        edited = [field for field in DETAIL_FIELDS if field in self.changed_data]
        if edited:
            decision = rules.can_manage_user(actor, user, Action.EDIT_USER)
            if decision and "email" in edited:
                decision, edited = rules.can_change_email(actor, user), ["email"]
            self.refuse_unless(decision, edited[0], AuditAction.USER_EDITED, **where)
        if "is_active" in self.changed_data:
            action, audit_action = (
                (Action.REACTIVATE_USER, AuditAction.USER_REACTIVATED)
                if cleaned.get("is_active")
                else (Action.DEACTIVATE_USER, AuditAction.USER_DEACTIVATED)
            )
            self.refuse_unless(
                rules.can_manage_user(actor, user, action), "is_active", audit_action, **where
            )
        self.requests_global_admin = False
        if "roles" in self.changed_data and "roles" in cleaned:
            held = {a.role.key for a in user.role_assignments.all()}
            wanted = {role.key for role in cleaned["roles"]}
            for role in cleaned["roles"]:
                if role.key not in held and self.check_grant(user, role, **where):
                    self.requests_global_admin = True
            for key in held - wanted:
                self.refuse_unless(
                    rules.can_revoke_role(actor, user, key),
                    "roles",
                    AuditAction.ROLE_REVOKED,
                    **where,
                    role=key,
                )
        self.confirm_password_before(self.requests_global_admin)
        return cleaned


@admin.register(User)
class PartnerUserAdmin(ServiceAdmin):
    """Partner users only: support staff accounts are added by an operator (add_support_staff)."""

    list_display = ("email", "first_name", "last_name", "organization", "roles", "is_active")
    list_filter = (OrganizationFilter, PartnerIdFilter, RoleFilter, "is_active")
    list_select_related = ("organization",)
    # Searched through User.objects.search (get_search_results): ignoring case and accents.
    search_fields = ("search_text",)
    search_help_text = (
        "Search by name or email, at least 3 letters (case and accents do not matter)."
    )
    show_full_result_count = False
    # A million users: newest first (the primary key's index), never counted (accounts.paging),
    # and no sorting by a column, which would sort the whole table for every page. Selecting
    # "all N users" for an action is not offered either: actions go one page at a time.
    ordering = ("-pk",)
    sortable_by = ()
    list_per_page = 25
    actions_selection_counter = False
    actions = (
        "deactivate_selected",
        "reactivate_selected",
        "resend_invitation_selected",
        "delete_selected",
    )
    add_fieldsets = ((None, {"fields": ("organization", *DETAIL_FIELDS, "roles")}),)
    fieldsets = (
        (None, {"fields": ("organization", *DETAIL_FIELDS, "is_active", "roles")}),
        ("Record", {"fields": ("must_change_password", "created_by", "created_at", "last_login")}),
    )
    # Moving users between organizations is not supported; the rest is the record.
    readonly_fields = (
        "organization",
        "must_change_password",
        "created_by",
        "created_at",
        "last_login",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # Prefetched roles: the list costs the same few queries however many users and roles.
        return (
            super()
            .get_queryset(request)
            .partner_users()
            .prefetch_related(
                Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("role"))
            )
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[UncountedChangeList]:
        return UncountedChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        words = fold(search_term).split()
        if words and max(len(word) for word in words) < MIN_SEARCH_LETTERS:
            messages.warning(
                request,
                f"Type at least {MIN_SEARCH_LETTERS} letters of a name or email to search "
                "all organizations.",
            )
            return queryset.none(), False
        return queryset.search(search_term), False

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, user: User) -> str:
        """Django's checkbox, written out: rendering a form widget per row costs more than the
        rest of the row."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            ACTION_CHECKBOX_NAME,
            user.pk,
            user,
        )

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        return ", ".join(a.role.name for a in user.role_assignments.all())

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        kwargs["form"] = UserChangeForm if obj is not None else UserAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.EmailInUse:
            # Someone took the email between the form's check and the save, and everything was
            # rolled back: run the view again, and the form's check puts the error on the field.
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: User, form: PartnerUserForm, change: bool
    ) -> None:
        actor, origin, data = request.user, Origin.from_request(request), form.cleaned_data
        # Support staff's Global admin is asked for, not granted (rule 12): the form said which.
        requested = form.requests_global_admin
        role_keys = [role.key for role in data["roles"] if not (requested and role.key == GA)]
        details = {field: data[field] for field in DETAIL_FIELDS}
        if not change:
            # Never a temporary password here: the user chooses their own with an emailed link.
            new = services.create_user(
                actor,
                organization=data["organization"],
                role_keys=role_keys,
                origin=origin,
                invite=True,
                base_url=base_url_for_email(request),
                **details,
            )
            messages.success(
                request,
                f"An invitation to choose a password is on its way to {new.user.email}.",
            )
            if requested:
                self._request_global_admin(request, new.user, origin)
            # The service saved its own instance: point the admin's at that row.
            obj.pk = new.user.pk
            obj.refresh_from_db()
            return
        # One transaction: a refusal of a later step undoes the earlier ones.
        with transaction.atomic():
            if set(DETAIL_FIELDS) & set(form.changed_data):
                services.update_user_details(actor, obj, origin=origin, **details)
            if "is_active" in form.changed_data:
                set_active = (
                    services.reactivate_user if data["is_active"] else services.deactivate_user
                )
                set_active(actor, obj, origin=origin)
            if "roles" in form.changed_data:
                role_services.change_roles(actor, obj, role_keys, origin=origin)
            if requested:
                self._request_global_admin(request, obj, origin)

    def _request_global_admin(self, request: HttpRequest, user: User, origin: Origin) -> None:
        grant_request = role_services.request_global_admin(request.user, user, origin=origin)
        link = reverse("admin:roles_globaladmingrantrequest_change", args=[grant_request.pk])
        messages.info(
            request,
            format_html(
                '<a href="{}">Global admin for {}</a> waits for a second support staff '
                "member's approval.",
                link,
                user,
            ),
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing: save_model's services saved the roles."""

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        # Asked before the page that says Delete, and again if it was left open too long.
        if self.has_delete_permission(request) and (ask := password_needed(request)):
            return ask
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.delete_user(request.user, obj, origin=Origin.from_request(request))

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def delete_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Asks for the password before the confirmation page and again before deleting."""
        return password_needed(request) or super().delete_selected(request, queryset)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        deleted = self.one_at_a_time(
            request,
            queryset,
            lambda user, origin: services.delete_user(request.user, user, origin=origin),
            "Deleted",
        )
        # The services deleted their own copies of these rows, so these still carry their ids.
        if deleted:
            self.log_deletions(request, deleted)

    @admin.action(permissions=["change"], description="Deactivate selected users")
    def deactivate_selected(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> HttpResponse | None:
        if ask := password_needed(request):
            return ask
        self.one_at_a_time(
            request,
            queryset,
            lambda user, origin: services.deactivate_user(request.user, user, origin=origin),
            "Deactivated",
        )
        return None

    @admin.action(permissions=["change"], description="Reactivate selected users")
    def reactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self.one_at_a_time(
            request,
            queryset,
            lambda user, origin: services.reactivate_user(request.user, user, origin=origin),
            "Reactivated",
        )

    @admin.action(permissions=["change"], description="Resend the invitation to selected users")
    def resend_invitation_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """A new emailed link for users who have not chosen a password yet (the old ones stop
        working); never a password reset, which rule 6 keeps from support staff."""
        base_url = base_url_for_email(request)
        self.one_at_a_time(
            request,
            queryset,
            lambda user, origin: services.resend_invitation(
                request.user, user, origin=origin, base_url=base_url
            ),
            "Invitation resent to",
        )


# The audit trail


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "organization",
        "action",
        "outcome",
        "actor_label",
        "target_label",
        "change_in_words",
    )
    # A million events: never counted (accounts.paging), the newest first on the
    # (created_at, id) order and no sorting by a column; the organization chosen by a link or
    # its partner ID, not from a list of every organization on every page.
    list_filter = ("action", "outcome", OrganizationFilter, PartnerIdFilter)
    list_select_related = ("organization",)
    readonly_fields = ("change_in_words",)
    search_fields = ("actor_label", "target_label")
    search_help_text = "Search by who acted or whom it concerned."
    show_full_result_count = False
    sortable_by = ()
    list_per_page = 25

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[UncountedChangeList]:
        return UncountedChangeList

    @admin.display(description="Change")
    def change_in_words(self, event: AuditEvent) -> str:
        """Before and after as sentences ("Roles: + Sales agent"); the JSON fields stay too."""
        return sentences(event) or "—"
