"""The Celery app, the beat schedule and the task modules (the scheduled-evaluations issue adds them)."""
