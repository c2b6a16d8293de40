"""Extension requests move onto the approvals engine: every existing request gets its approval request (and its
one step) with the same outcome, decider and time, before the request's own decision columns are dropped."""

from django.db import migrations, models

KIND = "pool.extension"
STEP_LABEL = "The rep's manager"
OUTCOME = {"pending": "pending", "approved": "approved", "declined": "rejected"}


def to_approvals(apps, schema_editor):
    ExtensionRequest = apps.get_model("customers", "ExtensionRequest")
    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    ApprovalStep = apps.get_model("approvals", "ApprovalStep")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type, _created = ContentType.objects.get_or_create(app_label="customers", model="extensionrequest")
    for ext in ExtensionRequest.objects.select_related("customer").order_by("pk").iterator():
        status = OUTCOME[ext.status]
        request = ApprovalRequest.objects.create(
            tenant_id=ext.tenant_id,
            created_at=ext.created_at,
            created_by_id=ext.requested_by_id,
            kind=KIND,
            content_type=content_type,
            object_id=ext.pk,
            title=ext.customer.name[:255],
            summary=ext.reason,
            url=f"/customers/{ext.customer_id}/",
            requested_by_id=ext.requested_by_id,
            status=status,
            current_step=1,
            decided_by_id=ext.decided_by_id,
            decided_at=ext.decided_at,
        )
        ApprovalStep.objects.create(
            tenant_id=ext.tenant_id,
            created_at=ext.created_at,
            request=request,
            order=1,
            approver="manager",
            label=STEP_LABEL,
            status=status,
            decided_by_id=ext.decided_by_id,
            decided_at=ext.decided_at,
        )


def from_approvals(apps, schema_editor):
    ExtensionRequest = apps.get_model("customers", "ExtensionRequest")
    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    for request in ApprovalRequest.objects.filter(kind=KIND).order_by("pk").iterator():
        ExtensionRequest.objects.filter(pk=request.object_id).update(
            decided_by_id=request.decided_by_id, decided_at=request.decided_at
        )
    ExtensionRequest.objects.filter(status="withdrawn").update(status="declined")
    ApprovalRequest.objects.filter(kind=KIND).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_delete_importjob"),
        ("approvals", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(to_approvals, from_approvals),
        migrations.RemoveField(model_name="extensionrequest", name="decided_at"),
        migrations.RemoveField(model_name="extensionrequest", name="decided_by"),
        migrations.AlterField(
            model_name="extensionrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("approved", "Approved"),
                    ("declined", "Declined"),
                    ("withdrawn", "Withdrawn"),
                ],
                default="pending",
                max_length=10,
                verbose_name="status",
            ),
        ),
    ]
