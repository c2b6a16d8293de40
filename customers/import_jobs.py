"""Celery tasks for customer imports."""
