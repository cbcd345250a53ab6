"""Koppel's Flask core."""
from core.app import create_app

__all__ = ["create_app"]
