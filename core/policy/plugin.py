"""The plugin contract: what every Koppel plugin declares about itself."""
from __future__ import annotations

from typing import ClassVar

from marshmallow import Schema

from core.messages import Message

KINDS = ("eligibility", "screening", "funding", "report_format", "matching", "evaluation_plan", "outcome_instrument",
         "match_terms", "programme_review")


class Plugin:
    """Base class of every plugin (built-in or third-party).

    Declare on the subclass:

    * ``name``: unique, dotted, lower case (``"eligibility.poverty"``);
    * ``kind``: one of :data:`KINDS`;
    * ``version``: the plugin's version, stored with every decision it made;
    * ``title`` and ``description``: ``{"nl": ..., "en": ...}``;
    * ``Config``: a marshmallow schema whose fields all have defaults
      (``load_default``), so that ``Config().load({})`` is the default configuration.

    * ``translations``: optional, the directory of the plugin's gettext
      catalogues (``<dir>/nl/LC_MESSAGES/<translation_domain>.mo``); the texts
      of the messages it returns (:meth:`message`) are looked up there.

    Koppel instantiates an enabled plugin with its validated configuration,
    available as ``self.config`` (a dict).
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    version: ClassVar[str]
    title: ClassVar[dict]
    description: ClassVar[dict]
    translations: ClassVar[str | None] = None
    translation_domain: ClassVar[str] = "messages"

    class Config(Schema):
        pass

    def __init__(self, config: dict | None = None):
        self.config = self.load_config(config or {})

    def message(self, text: str, *, plural: str | None = None, n: int | None = None, **params) -> Message:
        """A text for people, translated from this plugin's catalogue when it is shown.

        *text* is the English source with ``%(name)s`` placeholders; give *plural*
        and the count *n* for a text that depends on a number (``%(n)s`` is the count).
        """
        return Message(text, params, plural, n, self.name)

    @classmethod
    def load_config(cls, raw: dict) -> dict:
        """Validate *raw* with the plugin's schema; raises marshmallow.ValidationError naming each field."""
        return cls.Config().load(raw)

    @classmethod
    def default_config(cls) -> dict:
        return cls.Config().dump(cls.Config().load({}))

    @classmethod
    def contract_problems(cls) -> list[str]:
        """What the class fails to declare; empty when the contract is met."""
        problems = []
        for attribute in ("name", "kind", "version", "title", "description"):
            if not getattr(cls, attribute, None):
                problems.append(f"{cls.__qualname__} declares no {attribute}")
        if getattr(cls, "kind", None) and cls.kind not in KINDS:
            problems.append(f"{cls.__qualname__}.kind {cls.kind!r} is not one of {', '.join(KINDS)}")
        for attribute in ("title", "description"):
            value = getattr(cls, attribute, None)
            if value and set(value) != {"nl", "en"}:
                problems.append(f"{cls.__qualname__}.{attribute} needs exactly the languages nl and en")
        try:
            cls.Config().load({})
        except Exception as exc:  # noqa: BLE001 - any failure means the defaults are not complete
            problems.append(f"{cls.__qualname__}.Config has fields without a default: {exc}")
        return problems
