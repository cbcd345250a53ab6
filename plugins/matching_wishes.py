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

Speed: a suggestion scores thousands of pairs, and most of the work does not
depend on the pair. An instance (one per policy version, kept by the plugin
manager) compiles one pattern per term group once, reads each text (wishes
or preferences) once and keeps the mentions found in it (``CACHED_TEXTS``
texts: a supporting family's preferences are read again for every requesting
family), and keeps the support kinds' part per pair of sets of kinds. What is
left per pair is comparing the mentions and, when terms are asked, making the
reason.
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
_NOT_BLANK = validate.Regexp(r"\s*\S", error=N_("may not be blank"))


class _Mention:
    """The first mention of a term group in a text: the words quoted, and whether it is negated."""

    __slots__ = ("quote", "negated", "quoted")

    def __init__(self, quote: str, negated: bool):
        self.quote, self.negated = quote, negated
        self.quoted = f'"{quote}"'

    def __str__(self):
        return self.quoted


def _group_pattern(group) -> re.Pattern:
    """One whole-word, case-insensitive pattern for every term of *group*.

    A regular expression finds the leftmost match, and at one position tries
    the alternatives in order: the same first mention as searching for each
    term apart and keeping the earliest (the first term of the group on a tie).
    """
    terms = "|".join(re.escape(term.strip()) for term in group)
    return re.compile(rf"(?<!\w)(?:{terms})(?!\w)", re.IGNORECASE)


def _mention(text: str, pattern: re.Pattern, negations) -> _Mention | None:
    first = pattern.search(text)
    if first is None:
        return None
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, first.start())), default=0)
    before = list(_WORD.finditer(text, sentence_start, first.start()))[-2:]
    negators = [w for w in before if w.group().lower() in negations]
    start = negators[0].start() if negators else first.start()
    return _Mention(text[start:first.end()], bool(negators))


#: Texts (wishes, preferences) whose mentions a plugin instance keeps: a municipality's supporting families'
#: preferences are read again for every requesting family, and do not depend on it.
CACHED_TEXTS = 16_384
#: Pairs of support kinds (asked, offered) whose part a plugin instance keeps: there are few distinct ones.
CACHED_KINDS = 4_096


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

    def __init__(self, config: dict | None = None):
        super().__init__(config)
        # what does not depend on the pair, made once per policy version (the manager keeps the instance)
        self._negations = frozenset(word.strip().lower() for word in self.config["negations"])
        self._patterns = tuple(_group_pattern(group) for group in self.config["terms"])
        self._veto_on_conflict = bool(self.config["veto_on_conflict"])
        self._mentions = lru_cache(maxsize=CACHED_TEXTS)(self._scan)
        self._kinds = lru_cache(maxsize=CACHED_KINDS)(self._support_kinds_of)

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        kinds, terms = self._support_kinds(requesting, supporting), self._terms(requesting, supporting)
        if kinds is None or terms is None:
            part = kinds or terms
            return None if part is None else [component(self, *part)]
        return [component(self, *kinds, 0.5), component(self, *terms, 0.5)]  # each carries half the weight

    def _scan(self, text: str) -> tuple:
        """The first mention of each term group in *text* (None where a group is not mentioned); kept per text."""
        return tuple(_mention(text, pattern, self._negations) for pattern in self._patterns)

    def _support_kinds(self, requesting, supporting):
        if not requesting.support_kinds:
            return None
        try:
            return self._kinds(requesting.support_kinds, supporting.support_kinds)
        except TypeError:  # a set given where the facts have a frozenset: not kept
            return self._support_kinds_of(requesting.support_kinds, supporting.support_kinds)

    def _support_kinds_of(self, wanted, offered):
        """The support kinds' part (score, reason, veto) for the kinds *wanted* and *offered*.

        Kept per pair of sets (there are a few dozen): the reason, a Message, is a value that nobody changes,
        shared by the pairs with the same kinds.
        """
        asked = sorted(set(wanted))
        if not asked:
            return None
        covered = [kind for kind in asked if kind in offered]
        missed = [kind for kind in asked if kind not in offered]
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
        if not requesting.wishes:
            return None
        wishes = self._mentions(requesting.wishes)
        if not any(wishes):
            return None
        answers = self._mentions(supporting.preferences) if supporting.preferences else (None,) * len(wishes)
        met, unmentioned, conflicts = [], [], []
        for wish, answer in zip(wishes, answers):
            if wish is None:
                continue
            if answer is None:
                unmentioned.append(wish.quoted)
            elif answer.negated == wish.negated:
                met.append(f"{wish.quoted} ↔ {answer.quoted}")
            else:
                conflicts.append(f"{wish.quoted} ↔ {answer.quoted}")
        reason = self.message(TERM_TEXTS[bool(met), bool(unmentioned), bool(conflicts)], met=met,
                              unmentioned=unmentioned, conflicts=conflicts)
        asked = len(met) + len(unmentioned) + len(conflicts)
        return len(met) / asked, reason, bool(conflicts) and self._veto_on_conflict
