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

Each part that applies is a score component of its own, with the reason in
words: the support kinds by their labels, the terms quoting exactly the words
that matched on each side (``"rookvrij" ↔ "niet roken"``). When both apply,
each carries half of ``weight``, so together they count as the mean of the
two shares.

Missing facts: when the requesting family asks for no support kind and its
wishes mention none of the terms, the plugin returns None (not judged).
"""
from __future__ import annotations

import re
from functools import lru_cache

from marshmallow import Schema, fields, validate

from core.plugin_toolkit import N_, Labels, hookimpl
from plugins._common import BuiltinPlugin
from plugins._matching import component, weight_field

DEFAULT_TERMS = (
    ("rookvrij", "niet roken", "niet-roken", "no smoking", "non-smoking", "smoke-free"),
    ("huisdieren", "huisdier", "hond", "honden", "kat", "katten", "pets", "pet", "dog", "dogs", "cat", "cats"),
    ("tuin", "buiten spelen", "garden", "playing outside"),
    ("vegetarisch", "vegetarian"),
)
DEFAULT_NEGATIONS = ("geen", "niet", "zonder", "nooit", "allergisch", "allergie", "no", "not", "without", "never",
                     "allergic", "allergy")

#: The terms' reason by which of (met, not mentioned, in conflict) have entries.
TERM_TEXTS = {
    (True, False, False): N_("Wishes met in the preferences: %(met)s."),
    (False, True, False): N_("Wishes not mentioned in the preferences: %(unmentioned)s."),
    (False, False, True): N_("Wishes in conflict with the preferences: %(conflicts)s."),
    (True, True, False): N_("Wishes met in the preferences: %(met)s; not mentioned: %(unmentioned)s."),
    (True, False, True): N_("Wishes met in the preferences: %(met)s; in conflict: %(conflicts)s."),
    (False, True, True): N_("Wishes not mentioned in the preferences: %(unmentioned)s; in conflict: "
                            "%(conflicts)s."),
    (True, True, True): N_("Wishes met in the preferences: %(met)s; not mentioned: %(unmentioned)s; in conflict: "
                           "%(conflicts)s."),
}

_WORD = re.compile(r"[\w'’-]+")
_SENTENCE_END = re.compile(r"[.;:!?\n]")
_NOT_BLANK = validate.Regexp(r"\s*\S", error="may not be blank")


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


class Wishes(BuiltinPlugin):
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
        parts = [part for part in (self._support_kinds(requesting, supporting), self._terms(requesting, supporting))
                 if part is not None]
        share = 1.0 / len(parts) if parts else 1.0
        return [component(self, score, reason, veto=veto, share=share) for score, reason, veto in parts] or None

    def _support_kinds(self, requesting, supporting):
        asked = sorted(set(requesting.support_kinds))
        if not asked:
            return None
        covered = [kind for kind in asked if kind in supporting.support_kinds]
        missed = [kind for kind in asked if kind not in supporting.support_kinds]
        kinds = {"offered": Labels("support_kind", tuple(covered)), "missed": Labels("support_kind", tuple(missed))}
        if not missed:
            reason = self.message("Offers the support asked for: %(offered)s.",
                                  plural="Offers all %(n)s kinds of support asked for: %(offered)s.", n=len(asked),
                                  **kinds)
        elif not covered:
            reason = self.message("Does not offer the support asked for: %(missed)s.",
                                  plural="Offers none of the %(n)s kinds of support asked for: %(missed)s.",
                                  n=len(asked), **kinds)
        else:
            reason = self.message(
                "Offers %(n)s of the %(total)s kinds of support asked for: %(offered)s; not %(missed)s.",
                plural="Offers %(n)s of the %(total)s kinds of support asked for: %(offered)s; not %(missed)s.",
                n=len(covered), total=len(asked), **kinds)
        return len(covered) / len(asked), reason, False

    def _terms(self, requesting, supporting):
        negations = {word.strip().lower() for word in self.config["negations"]}
        met, unmentioned, conflicts = [], [], []
        for group in self.config["terms"]:
            wish = _mention(requesting.wishes, group, negations)
            if wish is None:
                continue
            answer = _mention(supporting.preferences, group, negations)
            if answer is None:
                unmentioned.append(str(wish))
            elif answer.negated == wish.negated:
                met.append(f"{wish} ↔ {answer}")
            else:
                conflicts.append(f"{wish} ↔ {answer}")
        asked = len(met) + len(unmentioned) + len(conflicts)
        if not asked:
            return None
        reason = self.message(TERM_TEXTS[bool(met), bool(unmentioned), bool(conflicts)], met=met,
                              unmentioned=unmentioned, conflicts=conflicts)
        return len(met) / asked, reason, bool(conflicts) and self.config["veto_on_conflict"]
