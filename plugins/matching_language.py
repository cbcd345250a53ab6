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

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._matching import component, listing, score_field, weight_field

LANGUAGE_NAMES = {
    "nl": "Dutch", "fy": "Frisian", "en": "English", "de": "German", "fr": "French", "es": "Spanish",
    "pt": "Portuguese", "it": "Italian", "pl": "Polish", "ro": "Romanian", "bg": "Bulgarian", "uk": "Ukrainian",
    "ru": "Russian", "tr": "Turkish", "ar": "Arabic", "fa": "Persian", "ps": "Pashto", "ku": "Kurdish",
    "ti": "Tigrinya", "am": "Amharic", "so": "Somali", "zh": "Chinese", "hi": "Hindi", "ur": "Urdu",
}


def _names(codes) -> str:
    return listing(sorted(LANGUAGE_NAMES.get(code, code) for code in codes))


class SharedLanguage(Plugin):
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

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        (spoken_r, assumed_r), (spoken_s, assumed_s) = self._languages(requesting), self._languages(supporting)
        if not spoken_r or not spoken_s:
            return None
        assumed = [who for who, flag in (("the requesting family", assumed_r), ("the supporting family", assumed_s))
                   if flag]
        note = f" ({listing(assumed)} {'lists' if len(assumed) == 1 else 'list'} no language: Dutch assumed)" \
            if assumed else ""
        shared = spoken_r & spoken_s
        if shared:
            return component(self, 1.0, f"Both families speak {_names(shared)}{note}.")
        return component(self, self.config["no_shared_score"],
                         f"No shared language: the requesting family speaks {_names(spoken_r)}, "
                         f"the supporting family {_names(spoken_s)}{note}.")
