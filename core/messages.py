"""Messages: what Koppel and its plugins say to people, as an id with parameters.

A service, an error or a plugin does not write a finished sentence; it
returns a :class:`Message`: the English source text (the gettext message id,
with ``%(name)s`` placeholders), its parameters, and for a count a plural
form. The message is stored as such (:meth:`Message.as_dict`) and rendered
when someone reads it (:func:`render`), in that reader's language: the same
stored decision reads in Dutch for a coordinator and in English for another.

Koppel's own messages are in its catalogue (``core/translations``); a
plugin's messages carry the plugin's name as ``domain`` and are looked up in
the catalogue the plugin ships (``Plugin.translations``). Parameters are
formatted by Babel in the reader's locale: dates (``date``), amounts in euros
(``Decimal``), numbers, and coded values (:class:`Label`, e.g. a problem
area) by their translated label, never the internal code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.support import NullTranslations, Translations

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


@dataclass(frozen=True)
class Label:
    """A coded value shown by its translated label (``Label("problem_area", "kopp")``)."""

    vocabulary: str
    code: str


@dataclass(frozen=True)
class Labels:
    """Several coded values of one vocabulary, shown as a list in the reader's language.

    ``style`` is Babel's list style: ``standard`` joins with "and", ``or`` with "or" (a choice).
    """

    vocabulary: str
    codes: tuple[str, ...]
    style: str = "standard"


@dataclass(frozen=True)
class Message:
    """A message id (English source text) with parameters; ``plural`` and ``n`` for a count.

    ``code`` is a stable name for programs (an API client, a page) that want to
    translate or react themselves; ``domain`` is None for Koppel's own
    catalogue, or the name of the plugin whose catalogue holds the text.
    """

    text: str
    params: dict = field(default_factory=dict)
    plural: str | None = None
    n: int | None = None
    domain: str | None = None
    code: str | None = None

    def as_dict(self) -> dict:
        """Plain JSON, to store with a decision or send to a client."""
        out = {"text": self.text, "params": {k: _encode(v) for k, v in self.params.items()}}
        for name in ("plural", "n", "domain", "code"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Message:
        return cls(data["text"], {k: _decode(v) for k, v in (data.get("params") or {}).items()},
                   data.get("plural"), data.get("n"), data.get("domain"), data.get("code"))

    def __str__(self) -> str:
        return render(self, "en")


def _encode(value):
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"amount": str(value)}
    if isinstance(value, Label):
        return {"label": value.vocabulary, "code": value.code}
    if isinstance(value, Labels):
        return {"labels": value.vocabulary, "codes": list(value.codes), "style": value.style}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "amount" in value:
            return Decimal(value["amount"])
        if "label" in value:
            return Label(value["label"], value["code"])
        if "labels" in value:
            return Labels(value["labels"], tuple(value["codes"]), value.get("style", "standard"))
    return value


def current_language() -> str:
    """The language of the request (or the forced one); Dutch outside a request."""
    try:
        from flask_babel import get_locale

        locale = get_locale()
    except (RuntimeError, AttributeError):  # no app or request context
        locale = None
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT_LANGUAGE


@cache
def _core_translations(language: str):
    from pathlib import Path

    return Translations.load(str(Path(__file__).parent / "translations"), [language], "messages")


@cache
def _plugin_translations(domain: str, language: str):
    from core.policy import manager

    try:
        cls = manager.plugin_class(domain)
    except manager.PluginError:
        return NullTranslations()
    directory = getattr(cls, "translations", None)
    if not directory:
        return NullTranslations()
    return Translations.load(str(directory), [language], getattr(cls, "translation_domain", "messages"))


def translations(domain: str | None, language: str):
    """The gettext catalogue of *domain* (None: Koppel's own) in *language* (English: the source)."""
    if language == "en":
        return NullTranslations()
    return _core_translations(language) if domain is None else _plugin_translations(domain, language)


def label(vocabulary: str, code: str, language: str | None = None) -> str:
    """The translated label of a coded value; the code itself when Koppel has no label for it."""
    from core.labels import LABELS

    text = LABELS.get(vocabulary, {}).get(code)
    if text is None:
        return code
    return translations(None, language or current_language()).gettext(text)


def format_value(value, language: str) -> str:
    """A parameter as the reader expects it: dates, euros and numbers by Babel, codes by their label."""
    if isinstance(value, list):
        value = tuple(value)
    try:
        return _formatted(type(value), value, language)
    except TypeError:  # unhashable (a dict in a list): formatted afresh
        return _format(value, language)


@lru_cache(maxsize=8192)
def _formatted(kind: type, value, language: str) -> str:
    """:func:`_format`, remembered: the same values come back in every suggestion and decision.
    *kind* keeps equal values of different types apart (``1``, ``1.0``, ``True``)."""
    return _format(value, language)


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def _format(value, language: str) -> str:
    from babel import numbers
    from babel.dates import format_date
    from babel.lists import format_list

    if isinstance(value, bool) or value is None:
        return str(value)
    locale = _locale(language)
    if isinstance(value, date):
        return format_date(value, format="long", locale=locale)
    if isinstance(value, Decimal):
        return numbers.format_currency(value, "EUR", locale=locale)
    if isinstance(value, (int, float)):
        return numbers.format_decimal(value, locale=locale)
    if isinstance(value, Label):
        return label(value.vocabulary, value.code, language)
    if isinstance(value, Labels):
        return format_list([label(value.vocabulary, c, language) for c in value.codes], style=value.style,
                           locale=locale)
    if isinstance(value, tuple):
        return format_list([format_value(v, language) for v in value], locale=locale)
    return str(value)


def render(message: Message | str | None, language: str | None = None) -> str | None:
    """*message* as text in *language* (default: the request's); a plain string is returned as it is."""
    if message is None or isinstance(message, str):
        return message
    language = language or current_language()
    catalogue = translations(message.domain, language)
    if message.plural is not None:
        text = catalogue.ngettext(message.text, message.plural, message.n or 0)
    else:
        text = catalogue.gettext(message.text)
    params = {k: format_value(v, language) for k, v in message.params.items()}
    if message.n is not None:
        params.setdefault("n", format_value(message.n, language))
    try:
        return text % params if params or "%(" in text else text
    except (KeyError, ValueError, TypeError):  # a translation with a wrong placeholder: fall back to the source
        return message.text % params if params else message.text


def explanation(finding: dict, language: str | None = None) -> str:
    """A stored finding's explanation in *language*: from its message when it has one."""
    stored = finding.get("message")
    if stored:
        return render(Message.from_dict(stored), language)
    return finding.get("explanation", "")


def render_all(messages, language: str | None = None):
    """Field errors (a dict or list of strings and Messages, nested) with every Message rendered."""
    if isinstance(messages, dict):
        return {k: render_all(v, language) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [render_all(m, language) for m in messages]
    return render(messages, language)
