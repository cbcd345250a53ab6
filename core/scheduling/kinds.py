"""The modules that register kinds of scheduled work (each calls :func:`core.scheduling.registry.register`)."""
from core.scheduling import evaluations  # noqa: F401
