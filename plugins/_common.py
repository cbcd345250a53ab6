"""What every built-in plugin shares: the catalogue that holds its texts in Dutch (not a plugin itself).

The built-in plugins write their texts for people as English message ids
(``self.message("...")``); the Dutch translations of all of them are in one
gettext catalogue, ``plugins/translations/nl/LC_MESSAGES/koppel_plugins.po``
(compiled to the ``.mo`` next to it). After changing a text, update the
``.po`` and compile it::

    pybabel compile -d plugins/translations -D koppel_plugins

``tests/test_plugin_messages.py`` fails when a text has no Dutch translation
or the ``.mo`` is not in step with the ``.po``.
"""
from __future__ import annotations

from pathlib import Path

from core.plugin_toolkit import Plugin

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "koppel_plugins"


class BuiltinPlugin(Plugin):
    """Base class of the built-in plugins: their messages are looked up in the shared catalogue."""

    translations = TRANSLATIONS
    translation_domain = DOMAIN
