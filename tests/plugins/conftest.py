"""Helpers for testing plugins through the public hook."""
from dataclasses import replace
from datetime import date

import pytest

from core.messages import render
from core.policy.manager import build_manager
from core.policy.types import FamilyFacts, PersonFacts

TODAY = date(2026, 11, 23)


def family(**facts) -> FamilyFacts:
    """Facts of a requesting family with one adult and one child of 6, overridden by *facts*."""
    defaults = {"id": 1, "kind": "requesting", "status": "intake",
                "members": (PersonFacts("adult", 35), PersonFacts("child", 6))}
    return FamilyFacts(**{**defaults, **facts})


@pytest.fixture
def hook():
    """``hook({plugin name: config})`` -> the ``pm.hook`` of a manager with just those plugins."""
    return lambda plugins: build_manager(plugins).hook


def en(message) -> str:
    """A plugin's message (an explanation, a reason, a cost line) as an English reader sees it."""
    return render(_made(message), "en")


def nl(message) -> str:
    """A plugin's message as a Dutch reader sees it."""
    return render(_made(message), "nl")


def _made(message):
    """A score component's reason may be a function that makes the message (made for the pairs shown)."""
    return message() if callable(message) else message


def in_english(results) -> list:
    """The score components a collected hook returned (a plugin may return a list), each reason in English."""
    components = []
    for result in results:
        components += result if isinstance(result, list) else [result]
    return [replace(c, reason=en(c.reason)) for c in components]
