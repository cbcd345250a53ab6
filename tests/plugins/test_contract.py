"""Every installed plugin (built-in or third-party) meets the plugin contract."""
from importlib.metadata import entry_points

import pytest

from core.policy.manager import ENTRY_POINT_GROUP, build_manager, installed, plugin_class

NAMES = sorted({e.name for e in entry_points(group=ENTRY_POINT_GROUP)})


def test_every_entry_point_loads():
    assert sorted(installed()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_contract(name):
    cls = plugin_class(name)
    assert cls.name == name
    assert cls.contract_problems() == []
    assert cls.version and cls.title["nl"] and cls.title["en"] and cls.description["nl"] and cls.description["en"]
    defaults = cls.default_config()
    assert cls.load_config(defaults) == cls.load_config({})  # the defaults survive a round trip
    build_manager({name: {}})  # every hook it implements has a specification
