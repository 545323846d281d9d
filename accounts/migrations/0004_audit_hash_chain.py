"""Chain each organization's audit events by hash, and link the events already written.

Existing events are numbered per organization (events without one form their own chain) in the
order they were written, (created_at, id), and hashed as AuditEvent.content_hash does today. The
hash is copied here rather than imported: a migration must do tomorrow what it does today.
"""

import hashlib
import json
from datetime import UTC

from django.db import migrations, models

BATCH = 1000


def _content_hash(event) -> str:
    # Frozen copy of AuditEvent.content_hash as of this migration.
    content = {
        "public_id": str(event.public_id),
        "sequence": event.sequence,
        "organization": event.organization_id,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "reason": event.reason,
        "actor_label": event.actor_label,
        "target_label": event.target_label,
        "before": event.before,
        "after": event.after,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def link_existing_events(apps, schema_editor) -> None:
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    db = schema_editor.connection.alias
    chains = (
        AuditEvent.objects.using(db).order_by().values_list("organization_id", flat=True).distinct()
    )
    for organization_id in list(chains):
        events = (
            AuditEvent.objects.using(db)
            .filter(organization_id=organization_id)
            .order_by("created_at", "id")
        )
        previous_hash, batch = "", []
        for sequence, event in enumerate(events.iterator(chunk_size=BATCH), start=1):
            event.sequence, event.previous_hash = sequence, previous_hash
            event.hash = previous_hash = _content_hash(event)
            batch.append(event)
            if len(batch) == BATCH:
                AuditEvent.objects.using(db).bulk_update(
                    batch, ["sequence", "previous_hash", "hash"]
                )
                batch = []
        if batch:
            AuditEvent.objects.using(db).bulk_update(batch, ["sequence", "previous_hash", "hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_organization_audit_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(db_index=True, default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(
                blank=True, editable=False, help_text="Empty for the first event.", max_length=64
            ),
        ),
        # Nullable until the existing events are numbered.
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(
                null=True,
                editable=False,
                help_text="Position in its organization's chain of events, from 1.",
            ),
        ),
        migrations.RunPython(link_existing_events, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(
                editable=False, help_text="Position in its organization's chain of events, from 1."
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("organization", "sequence"), name="accounts_audit_one_event_per_place"
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organization__isnull", True)),
                fields=("sequence",),
                name="accounts_audit_one_event_per_place_without_organization",
            ),
        ),
    ]
