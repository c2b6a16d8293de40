from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_move_import_jobs_to_imports"),
    ]

    operations = [migrations.DeleteModel(name="ImportJob")]
