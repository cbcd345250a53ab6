"""Helpers for testing plugins through the public hook."""
from datetime import date

import pytest

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
