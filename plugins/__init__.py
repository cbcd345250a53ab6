"""Koppel's built-in policy plugins, one module each.

They are registered through the entry point group ``koppel.plugins`` in
``pyproject.toml``, exactly as a third-party package registers its own;
nothing in ``core/`` imports this package.
"""
