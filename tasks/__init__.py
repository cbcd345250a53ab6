"""Celery: the app bound to Flask (:mod:`tasks.celery_app`), the dispatcher's beat task and the item task."""
from tasks.celery_app import celery_init_app

__all__ = ["celery_init_app"]
