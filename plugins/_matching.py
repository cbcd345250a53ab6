"""What the matching plugins share: the weight field and building a score component.

Every matching plugin returns a :class:`~core.plugin_toolkit.ScoreComponent`
whose ``criterion`` is the plugin's name, whose ``weight`` comes from the
plugin's configuration, and whose ``score`` lies between 0 and 1 (rounded to
three decimals, so that a coordinator sees the same number the ranking used).
Its ``reason`` is a message (``plugin.message(...)``), shown in the reader's
language; it says what fits and what does not. The built-in plugins give a
function that makes the message (``lambda: self.message(...)``): it is called
only for the suggestions shown, not for the thousands of pairs scored. Whether the component rules
the pair out is its ``veto``, not part of the words: a vetoed pair is left out
of the suggestions altogether.

**Missing facts.** A criterion that cannot be judged because the facts it
needs are not recorded returns ``None``: it then takes no part in the
weighted mean, and the pair is ranked on the other criteria. A missing fact
never vetoes a pair. Each plugin's docstring says exactly which facts it
needs; anything it *can* judge from the recorded facts (for instance a
supporting family that offers none of the asked day parts) is scored, not
skipped.
"""
from __future__ import annotations

import dataclasses
from functools import wraps

from marshmallow import fields, validate

from core.plugin_toolkit import Message, ScoreComponent

_FIELDS = ("criterion", "score", "weight", "reason", "veto")
#: Whether a component may be made without the dataclass's __init__ (a frozen dataclass's sets each field with
#: object.__setattr__: the larger part of a component's cost, made a dozen thousand times per suggestion).
#: Only while ScoreComponent is a plain frozen dataclass with exactly these fields; else its own __init__.
_PLAIN = (tuple(f.name for f in dataclasses.fields(ScoreComponent)) == _FIELDS
          and not hasattr(ScoreComponent, "__post_init__") and "__slots__" not in vars(ScoreComponent))
_new = object.__new__


def weight_field(default: float = 1.0) -> fields.Float:
    """The ``weight`` of a criterion in the weighted mean: 0 (counts only through its veto) to 10."""
    return fields.Float(load_default=default, validate=validate.Range(min=0, max=10))


def score_field(default: float) -> fields.Float:
    """A configurable score between 0 and 1."""
    return fields.Float(load_default=default, validate=validate.Range(min=0, max=1))


def component(plugin, score: float, reason: Message, veto: bool = False, share: float = 1.0) -> ScoreComponent:
    """The plugin's score component: clamped to 0..1 and rounded to three decimals.

    *share* is the part of the plugin's weight this component carries (a
    plugin that judges two things in two components gives each half).
    """
    score = float(score)
    if 0.0 < score < 1.0:
        score = round(score, 3)
    elif score != 1.0:  # below 0, above 1, -0.0 or NaN: as round(min(1.0, max(0.0, score)), 3) gives
        score = 1.0 if score > 1.0 else 0.0
    weight = float(plugin.config["weight"]) * share
    if _PLAIN:
        made = _new(ScoreComponent)
        made.__dict__.update(criterion=plugin.name, score=score, weight=weight, reason=reason, veto=veto)
        return made
    return ScoreComponent(plugin.name, score, weight, reason, veto)


def per_requesting_family(method):
    """``method(self, family)``, remembered for the last plugin and family it was given (by identity).

    A suggestion scores the same requesting family's facts against every
    candidate: what a plugin works out from them alone is worked out once.
    """
    remembered = (None, None, None)

    @wraps(method)
    def wrapper(self, family):
        nonlocal remembered
        plugin, facts, value = remembered  # one tuple, read and replaced whole: safe between threads
        if plugin is not self or facts is not family:
            value = method(self, family)
            remembered = (self, family, value)
        return value

    return wrapper
