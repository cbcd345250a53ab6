"""WSGI entry point: ``gunicorn wsgi:app``."""
import gc

from core import create_app

app = create_app()
# Everything made at start-up lives as long as the process: keep the garbage collector from
# scanning it on every full collection (shorter pauses; pages stay shared after a fork).
gc.collect()
gc.freeze()
