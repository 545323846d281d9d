"""What the REST API reads and writes. Users and events are named by their public ids; the
rulebook and the services decide, never a serializer."""

from __future__ import annotations

from rest_framework import serializers

from accounts.forms.text import CONTROL_CHARACTERS, has_control_characters
from accounts.models import AuditAction, AuditEvent, AuditOutcome, User, UserStatus
from roles.catalogue import CATALOGUE, RoleGroup, RoleSpec

ROLE_KEYS = [(spec.key.value, spec.name) for spec in CATALOGUE]


class RoleSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    group = serializers.ChoiceField(choices=RoleGroup.choices)
    csp_only = serializers.BooleanField()
    unlocks = serializers.CharField()
    description = serializers.CharField()

    @staticmethod
    def of(spec: RoleSpec) -> dict:
        return {
            "key": spec.key.value,
            "name": spec.name,
            "group": spec.group.value,
            "csp_only": spec.csp_only,
            "unlocks": spec.unlocks,
            "description": spec.description,
        }


class HeldRoleSerializer(serializers.Serializer):
    key = serializers.CharField(source="role.key")
    name = serializers.CharField(source="role.name")


class UserSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=UserStatus.choices, read_only=True)
    roles = HeldRoleSerializer(source="role_assignments", many=True, read_only=True)
    last_sign_in = serializers.DateTimeField(source="last_login", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "is_active",
            "status",
            "roles",
            "created_at",
            "last_sign_in",
        ]
        read_only_fields = fields


def one_line(value: str) -> str:
    """The pages' rule for a name or an email: one line of plain text (accounts.forms.text)."""
    if has_control_characters(value):
        raise serializers.ValidationError(CONTROL_CHARACTERS)
    return value


class UserCreateSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, validators=[one_line])
    first_name = serializers.CharField(max_length=150, validators=[one_line])
    last_name = serializers.CharField(max_length=150, validators=[one_line])
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLE_KEYS),
        required=False,
        default=list,
        max_length=20,
    )


class UserUpdateSerializer(serializers.Serializer):
    """Details only; status and roles have their own addresses. Fields left out keep their value."""

    email = serializers.CharField(max_length=254, required=False, validators=[one_line])
    first_name = serializers.CharField(max_length=150, required=False, validators=[one_line])
    last_name = serializers.CharField(max_length=150, required=False, validators=[one_line])


class AuditEventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    actor = serializers.CharField(source="actor_label", read_only=True)
    target = serializers.CharField(source="target_label", read_only=True)
    target_id = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "action",
            "action_display",
            "outcome",
            "reason",
            "actor",
            "target",
            "target_id",
            "before",
            "after",
            "ip_address",
            "repeats",
        ]
        read_only_fields = fields

    def get_target_id(self, event: AuditEvent) -> str | None:
        target_public_id = getattr(event, "target_public_id", None)
        return str(target_public_id) if target_public_id else None


class AuditEventFilterSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    outcome = serializers.ChoiceField(choices=AuditOutcome.choices, required=False)
    target = serializers.UUIDField(required=False, help_text="A user's id.")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
