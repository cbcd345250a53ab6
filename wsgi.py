"""WSGI entry point: ``gunicorn wsgi:app``."""
from core import create_app
from core.app import tune_garbage_collector

app = create_app()
tune_garbage_collector()
