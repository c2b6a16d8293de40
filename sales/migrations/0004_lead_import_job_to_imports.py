from django.db import migrations


class Migration(migrations.Migration):
    """Leads keep the job that imported them, now an imports.ImportJob; the per-app model goes."""

    dependencies = [
        ("sales", "0003_move_lead_imports_to_imports"),
    ]

    operations = [
        migrations.RemoveField(model_name="lead", name="import_job"),
        migrations.RenameField(model_name="lead", old_name="new_import_job", new_name="import_job"),
        migrations.DeleteModel(name="LeadImport"),
    ]
