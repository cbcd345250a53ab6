"""Finding plugins, building a plugin manager per policy, and calling hooks safely.

* :func:`installed` loads every class of the entry point group
  ``koppel.plugins`` (built-in and third-party alike) and checks its contract.
* :func:`build_manager` makes a pluggy ``PluginManager`` with only the given
  plugins, each instantiated with its configuration; ``check_pending()``
  refuses hook implementations that match no specification.
* :func:`manager_for` caches those managers by (tenant, policy version).
* :func:`call` runs every implementation of a hook in a worker thread with a
  time limit; a plugin that raises or is too slow yields an error result, is
  logged with its name and version, and never takes the request down.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from importlib.metadata import entry_points
from operator import itemgetter
from typing import Any, NamedTuple

import pluggy

from core import hookspecs
from core.policy.plugin import Plugin

ENTRY_POINT_GROUP = "koppel.plugins"
log = logging.getLogger("koppel.plugins")


class PluginError(RuntimeError):
    """A plugin package is broken (contract, duplicate name, hook without specification)."""


def _load(entry_point) -> type[Plugin]:
    cls = entry_point.load()
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise PluginError(f"entry point {entry_point.name} = {entry_point.value} is not a koppel Plugin class")
    problems = cls.contract_problems()
    if cls.name != entry_point.name:
        problems.append(f"entry point {entry_point.name} names plugin {cls.name}; use the plugin's name")
    if problems:
        raise PluginError("; ".join(problems))
    return cls


@cache
def plugin_class(name: str) -> type[Plugin]:
    """The installed plugin class called *name* (its entry point has the same name)."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise PluginError(f"plugin {name} is not installed")
    if len(found) > 1:
        raise PluginError(f"more than one package installs a plugin named {name}")
    return _load(next(iter(found)))


@cache
def installed() -> dict[str, type[Plugin]]:
    """Every installed plugin class by name (loaded once per process).

    A broken package is logged and left out, so it cannot be enabled but does
    not take the others down.
    """
    found = {}
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            found[entry_point.name] = plugin_class(entry_point.name)
        except Exception as exc:  # noqa: BLE001 - an import error, a broken contract, anything
            log.error("plugin %s (%s) cannot be loaded: %s", entry_point.name, entry_point.value, exc)
    return found


def build_manager(plugins: dict[str, dict], classes: dict[str, type[Plugin]] | None = None) -> pluggy.PluginManager:
    """A manager with the named plugins, each instantiated with its (raw) configuration."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in sorted(plugins):
        cls = classes[name] if classes is not None and name in classes else plugin_class(name)
        manager.register(cls(plugins[name]), name=name)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return manager


_managers: OrderedDict = OrderedDict()
_managers_lock = threading.Lock()
MAX_CACHED_MANAGERS = 512


def manager_for(key, plugins: dict[str, dict]) -> pluggy.PluginManager:
    """The manager of a policy version, built once per process; *key* names the version."""
    with _managers_lock:
        if key in _managers:
            _managers.move_to_end(key)
            return _managers[key]
    manager = build_manager(plugins)
    with _managers_lock:
        _managers[key] = manager
        while len(_managers) > MAX_CACHED_MANAGERS:
            _managers.popitem(last=False)
    return manager


class HookResult(NamedTuple):
    """What one plugin's hook implementation gave: a value, or an error."""

    plugin: str
    version: str
    value: Any = None
    error: str | None = None


#: Hook calls run here, so that a time limit can be kept. A plugin that hangs keeps its thread until it
#: returns: with 32 threads a process survives that many hung calls before new calls wait for a thread.
_executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="koppel-plugin")


def _run(hook, kwargs: dict, done: list, first_only: bool, impls=None) -> None:
    for impl in impls or reversed(hook.get_hookimpls()):  # pluggy's own order: last registered first
        plugin = impl.plugin
        try:
            value = impl.function(*[kwargs[name] for name in impl.argnames])
            done.append(HookResult(impl.plugin_name, plugin.version, value))
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is its own, not the request's
            log.error("plugin %s %s failed in %s: %r", impl.plugin_name, plugin.version, hook.name, exc,
                      extra={"plugin": impl.plugin_name, "plugin_version": plugin.version}, exc_info=True)
            done.append(HookResult(impl.plugin_name, plugin.version, error=f"{type(exc).__name__}: {exc}"))
        if first_only and done[-1].value is not None:
            return


def call(manager: pluggy.PluginManager, hook_name: str, timeout: float, **kwargs) -> list[HookResult]:
    """Call every implementation of *hook_name*; one result per plugin, errors and timeouts included.

    For a ``firstresult`` hook the calls stop at the first value that is not None.
    """
    hook = getattr(manager.hook, hook_name)
    first_only = bool(hook.spec and hook.spec.opts.get("firstresult"))
    done: list[HookResult] = []
    if timeout <= 0:
        _run(hook, kwargs, done, first_only)
        return done
    future = _executor.submit(_run, hook, kwargs, done, first_only)
    try:
        future.result(timeout=timeout)
    except FutureTimeout:
        finished = {r.plugin for r in done}
        pending = [impl for impl in reversed(hook.get_hookimpls()) if impl.plugin_name not in finished]
        for position, impl in enumerate(pending):
            reason = (f"timed out after {timeout:g} s" if position == 0
                      else f"not run: {pending[0].plugin_name} timed out before it")
            if position == 0:
                log.error("plugin %s %s timed out in %s after %g s", impl.plugin_name, impl.plugin.version,
                          hook_name, timeout, extra={"plugin": impl.plugin_name, "plugin_version": impl.plugin.version})
            done.append(HookResult(impl.plugin_name, impl.plugin.version, error=reason))
    return list(done)


def call_many(manager: pluggy.PluginManager, hook_name: str, timeout: float, calls: list[dict]) -> list[list[HookResult]]:
    """:func:`call` for many argument sets in one worker job (matching scores many pairs at once).

    The time limit holds for the whole batch; on a timeout, the calls not
    finished get an error result each. The same results as :func:`call` for
    each argument set, in a tighter loop: what is looked up per plugin (its
    function, the arguments it takes, name and version) is looked up once.
    """
    hook = getattr(manager.hook, hook_name)
    first_only = bool(hook.spec and hook.spec.opts.get("firstresult"))
    results: list[list[HookResult]] = []
    impls = [(impl.function, len(impl.argnames), itemgetter(*impl.argnames) if impl.argnames else None,
              impl.plugin_name, impl.plugin.version) for impl in reversed(hook.get_hookimpls())]
    make = tuple.__new__  # HookResult(plugin, version, value, error) without the Python-level __new__

    def run_all():
        append = results.append
        for kwargs in calls:
            done: list[HookResult] = []
            for function, arity, arguments, plugin, version in impls:
                try:
                    if arity > 1:
                        value = function(*arguments(kwargs))  # itemgetter of several names: a tuple
                    elif arity:
                        value = function(arguments(kwargs))
                    else:
                        value = function()
                except Exception as exc:  # noqa: BLE001 - a plugin's failure is its own, not the request's
                    log.error("plugin %s %s failed in %s: %r", plugin, version, hook.name, exc,
                              extra={"plugin": plugin, "plugin_version": version}, exc_info=True)
                    done.append(make(HookResult, (plugin, version, None, f"{type(exc).__name__}: {exc}")))
                    continue
                done.append(make(HookResult, (plugin, version, value, None)))
                if first_only and value is not None:
                    break
            append(done)

    if timeout <= 0:
        run_all()
        return results
    future = _executor.submit(run_all)
    try:
        future.result(timeout=timeout)
    except FutureTimeout:
        log.error("plugins timed out in %s after %g s (%d of %d calls done)", hook_name, timeout, len(results), len(calls))
        finished = list(results)
        missing = [HookResult(impl.plugin_name, impl.plugin.version, error=f"timed out after {timeout:g} s")
                   for impl in reversed(hook.get_hookimpls())]
        return finished + [missing for _ in range(len(calls) - len(finished))]
    return results
