"""Celery tasks for customer exports and the nightly recycle-bin purge."""
