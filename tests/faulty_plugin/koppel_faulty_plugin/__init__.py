"""``faulty.unreliable``: an eligibility plugin that fails on purpose, for Koppel's robustness tests.

Never enable it for a real municipality. Its configuration ``mode`` says what
it does: ``"raise"`` raises RuntimeError, ``"sleep"`` sleeps ``seconds``
(default 5) before answering, ``"ok"`` answers at once; when it answers, it is
with a met include finding.
"""
import time

from marshmallow import Schema, fields, validate

from core.plugin_toolkit import Finding, Plugin, hookimpl


class Unreliable(Plugin):
    name = "faulty.unreliable"
    kind = "eligibility"
    version = "0.1.0"
    title = {"nl": "Onbetrouwbaar (alleen voor tests)", "en": "Unreliable (tests only)"}
    description = {
        "nl": "Faalt met opzet (een fout of een time-out), om te testen dat Koppel daartegen bestand is.",
        "en": "Fails on purpose (an error or a timeout), to test that Koppel withstands it.",
    }

    class Config(Schema):
        mode = fields.String(load_default="ok", validate=validate.OneOf(["raise", "sleep", "ok"]))
        seconds = fields.Float(load_default=5.0, validate=validate.Range(min=0, max=60))

    @hookimpl
    def koppel_eligibility(self, family, today):
        if self.config["mode"] == "raise":
            raise RuntimeError("faulty.unreliable was told to raise")
        if self.config["mode"] == "sleep":
            time.sleep(self.config["seconds"])
        return Finding(rule=self.name, result="met", effect="include", facts={"mode": self.config["mode"]},
                       explanation=self.message("Answered in mode %(mode)s.", mode=self.config["mode"]))
