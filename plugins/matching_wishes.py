"""Matching on wishes: the support asked for, and a few plain words in the families' own texts.

Deliberately simple, so that a coordinator can check every point:

* **Support kinds.** The share of the requesting family's ``support_kinds``
  that the supporting family offers (its own ``support_kinds``).
* **Terms.** ``terms`` is a list of groups of words that mean the same thing
  (``["rookvrij", "no smoking", ...]``). A group mentioned in the requesting
  family's ``wishes`` is asked; it is *met* when the supporting family's
  ``preferences`` mention the same group the same way, a *conflict* when
  they mention it the other way round, and *not mentioned* otherwise. "The
  other way round" is read from the two words just before a word in the same
  sentence: one of ``negations`` there (``geen huisdieren``, ``allergic to
  cats``) makes the mention a negative one. The first mention of a group in
  a text counts. Words match whole, case-insensitively. The term share is
  the share of asked groups that are met; a conflict rules the pair out when
  ``veto_on_conflict`` is set.

The score is the mean of the two shares, or the one that applies. The reason
quotes exactly the words that matched on each side.

Missing facts: when the requesting family asks for no support kind and its
wishes mention none of the terms, the plugin returns None (not judged).
"""
from __future__ import annotations

import re
from functools import lru_cache

from marshmallow import Schema, fields, validate

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._matching import component, listing, share_phrase, weight_field

DEFAULT_TERMS = (
    ("rookvrij", "niet roken", "niet-roken", "no smoking", "non-smoking", "smoke-free"),
    ("huisdieren", "huisdier", "hond", "honden", "kat", "katten", "pets", "pet", "dog", "dogs", "cat", "cats"),
    ("tuin", "buiten spelen", "garden", "playing outside"),
    ("vegetarisch", "vegetarian"),
)
DEFAULT_NEGATIONS = ("geen", "niet", "zonder", "nooit", "allergisch", "allergie", "no", "not", "without", "never",
                     "allergic", "allergy")

SUPPORT_KIND_NAMES = {
    "day_part_care": "day-part care", "weekend_stay": "weekend stays", "after_school_care": "after-school care",
    "practical_help": "practical help", "parent_buddy": "a buddy for the parent",
}

_WORD = re.compile(r"[\w'’-]+")
_SENTENCE_END = re.compile(r"[.;:!?\n]")
_NOT_BLANK = validate.Regexp(r"\s*\S", error="may not be blank")


def _kinds(codes) -> str:
    return listing(SUPPORT_KIND_NAMES.get(code, code.replace("_", " ")) for code in codes)


class _Mention:
    """The first mention of a term group in a text: the words quoted, and whether it is negated."""

    def __init__(self, quote: str, negated: bool):
        self.quote, self.negated = quote, negated

    def __str__(self):
        return f'"{self.quote}"'


@lru_cache(maxsize=1024)
def _term(term: str) -> re.Pattern:
    """A whole-word, case-insensitive pattern for *term* (compiled once)."""
    return re.compile(rf"(?<!\w){re.escape(term.strip())}(?!\w)", re.IGNORECASE)


def _mention(text: str | None, group, negations) -> _Mention | None:
    if not text:
        return None
    first = None
    for term in group:
        found = _term(term).search(text)
        if found and (first is None or found.start() < first.start()):
            first = found
    if first is None:
        return None
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, first.start())), default=0)
    before = list(_WORD.finditer(text, sentence_start, first.start()))[-2:]
    negators = [w for w in before if w.group().lower() in negations]
    start = negators[0].start() if negators else first.start()
    return _Mention(text[start:first.end()], bool(negators))


class Wishes(Plugin):
    name = "matching.wishes"
    kind = "matching"
    version = "1.0.0"
    title = {"nl": "Wensen", "en": "Wishes"}
    description = {
        "nl": "Welk deel van de gevraagde soorten steun het steungezin biedt, en welke ingestelde trefwoorden "
              "(zoals 'rookvrij' of 'huisdieren') uit de wensen van het vraaggezin in de voorkeuren van het "
              "steungezin terugkomen, met precies de woorden die overeenkwamen.",
        "en": "Which share of the kinds of support asked for the supporting family offers, and which configured "
              "terms (such as 'no smoking' or 'pets') in the requesting family's wishes come back in the "
              "supporting family's preferences, quoting exactly the words that matched.",
    }

    class Config(Schema):
        weight = weight_field(1.0)
        terms = fields.List(
            fields.List(fields.String(validate=[validate.Length(max=60), _NOT_BLANK]), validate=validate.Length(min=1)),
            load_default=lambda: [list(group) for group in DEFAULT_TERMS], validate=validate.Length(max=50))
        negations = fields.List(fields.String(validate=[validate.Length(max=30), _NOT_BLANK]),
                                load_default=lambda: list(DEFAULT_NEGATIONS))
        veto_on_conflict = fields.Boolean(load_default=False)

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        shares, reasons, veto = [], [], False
        asked_kinds = set(requesting.support_kinds)
        if asked_kinds:
            offered = asked_kinds & set(supporting.support_kinds)
            shares.append(len(offered) / len(asked_kinds))
            reasons.append(share_phrase(sorted(offered), sorted(asked_kinds - offered), "kind of support",
                                        "kinds of support", _kinds) + ".")
        negations = {word.strip().lower() for word in self.config["negations"]}
        met = asked = 0
        notes = []
        for group in self.config["terms"]:
            wish = _mention(requesting.wishes, group, negations)
            if wish is None:
                continue
            asked += 1
            answer = _mention(supporting.preferences, group, negations)
            if answer is None:
                notes.append(f"{wish} not mentioned in the preferences")
            elif answer.negated == wish.negated:
                met += 1
                notes.append(f"{wish} met by {answer} in the preferences")
            else:
                notes.append(f"{wish} conflicts with {answer} in the preferences")
                if self.config["veto_on_conflict"]:
                    veto = True
        if asked:
            shares.append(met / asked)
            reasons.append(f"Wishes: {met} of {asked} met ({'; '.join(notes)})"
                           + ("; a conflict rules the pair out." if veto else "."))
        if not shares:
            return None
        return component(self, sum(shares) / len(shares), " ".join(reasons), veto=veto)
