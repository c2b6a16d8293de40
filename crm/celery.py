import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The schedule lives in code; each app's periodic jobs are listed here so beat has one place to read.
app.conf.beat_schedule = {
    "crm-redeliver-queued-messages": {
        "task": "crm.tasks.redeliver_queued_messages",
        "schedule": crontab(minute="*/5"),
    },
}
