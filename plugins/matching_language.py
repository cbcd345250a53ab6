"""Matching on language: do the families share a language?

A shared language (ISO 639-1 codes in ``languages``) scores 1; no shared
language scores ``no_shared_score`` (by default 0.3: an interpreter or
gestures can bridge a lot, but it is harder). With ``assume_dutch`` (the
default), a family that lists no language is taken to speak Dutch, so two
families that list none share Dutch.

Missing facts: without ``assume_dutch``, when either family lists no
language the plugin returns None (not judged).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from core.plugin_toolkit import Labels, hookimpl
from plugins._common import BuiltinPlugin
from plugins._matching import component, per_requesting_family, score_field, weight_field


def _names(codes) -> Labels:
    """Languages by their names (the ``language`` labels; a code Koppel has no name for is shown as it is)."""
    return Labels("language", tuple(sorted(codes)))


class SharedLanguage(BuiltinPlugin):
    name = "matching.language"
    kind = "matching"
    version = "1.0.0"
    title = {"nl": "Gedeelde taal", "en": "Shared language"}
    description = {
        "nl": "Spreken de gezinnen een gemeenschappelijke taal? Zo niet, dan telt een lagere (instelbare) score. "
              "Een gezin zonder opgegeven taal geldt desgewenst als Nederlandstalig.",
        "en": "Do the families share a language? If not, a lower (configurable) score counts. A family that "
              "lists no language can be taken to speak Dutch.",
    }

    class Config(Schema):
        weight = weight_field(1.0)
        no_shared_score = score_field(0.3)
        assume_dutch = fields.Boolean(load_default=True)

    def _languages(self, family) -> tuple[frozenset, bool]:
        listed = frozenset(code.strip().lower() for code in family.languages if code and code.strip())
        if not listed and self.config["assume_dutch"]:
            return frozenset({"nl"}), True
        return listed, False

    _spoken = per_requesting_family(_languages)

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        (spoken_r, assumed_r), (spoken_s, assumed_s) = self._spoken(requesting), self._languages(supporting)
        if not spoken_r or not spoken_s:
            return None
        shared = spoken_r & spoken_s
        score = 1.0 if shared else self.config["no_shared_score"]
        return component(self, score, lambda: self._reason(spoken_r, assumed_r, spoken_s, assumed_s, shared))

    def _reason(self, spoken_r: frozenset, assumed_r: bool, spoken_s: frozenset, assumed_s: bool, shared: frozenset):
        if shared:
            if assumed_r and assumed_s:
                return self.message("Neither family lists a language; both are taken to speak Dutch.")
            if assumed_r:
                return self.message("Both families speak Dutch (the requesting family lists no language; Dutch is "
                                    "assumed).")
            if assumed_s:
                return self.message("Both families speak Dutch (the supporting family lists no language; Dutch is "
                                    "assumed).")
            return self.message("Both families speak %(languages)s.", languages=_names(shared))
        if assumed_r:
            return self.message("No shared language: the supporting family speaks %(supporting)s; the requesting "
                                "family lists no language (Dutch is assumed).", supporting=_names(spoken_s))
        if assumed_s:
            return self.message("No shared language: the requesting family speaks %(requesting)s; the supporting "
                                "family lists no language (Dutch is assumed).", requesting=_names(spoken_r))
        return self.message("No shared language: the requesting family speaks %(requesting)s, the supporting "
                            "family %(supporting)s.", requesting=_names(spoken_r), supporting=_names(spoken_s))
