"""An example third-party Koppel plugin package (see ``docs/plugins.md`` in Koppel)."""
from koppel_example_plugin.large_family import LargeFamily

__all__ = ["LargeFamily"]
