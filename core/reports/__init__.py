"""Programme reports: one builder for every reader, rendered by the policy's report-format plugins.

The public surface (other modules import only these):

* :func:`core.reports.builder.build` — a :class:`core.reports.model.ProgrammeReport` for one scope
  (a municipality, or a consortium with its members side by side) and a period, for an audience
  (``STAFF``: full detail inside the reader's own tenant; ``FUNDER``: private by construction).
* :func:`core.reports.layout.tables` — the report as a :class:`~core.policy.types.Report` of sections.
* :func:`core.reports.render` — the report as bytes in a media format, by the scope's report plugins
  (:func:`core.reports.render_tables` for any other laid-out report, such as a funding statement).

The builder knows nothing of file formats; the plugins know nothing of the programme.
"""
from __future__ import annotations

import json

from flask import current_app

from core.errors import Conflict
from core.messages import Message
from core.policy import manager, service
from core.policy.types import RenderedReport, Report
from core.reports import builder, layout
from core.reports.builder import build
from core.reports.layout import tables
from core.reports.model import FUNDER, STAFF, ProgrammeReport, ReportScope

__all__ = ["FUNDER", "STAFF", "FormatNotAvailable", "ProgrammeReport", "ReportScope", "build", "builder", "layout",
           "render", "render_tables", "tables"]

REPORT_FORMAT = "report_format"
#: The time a report plugin has to render a report: a consortium's funder report is tens of pages (its billing
#: list a row per match), far more work than one policy decision, so not PLUGIN_TIMEOUT_SECONDS but at least this.
RENDER_SECONDS = 60


class FormatNotAvailable(Conflict):
    """No report plugin of the scope's policy renders the format asked for."""

    code = "report_format_not_available"


def render(report: ProgrammeReport, media_format: str) -> RenderedReport:
    """*report* laid out (:func:`tables`) and rendered in *media_format* by its scope's report plugins
    (:func:`render_tables`)."""
    return render_tables(tables(report), media_format, municipality_id=report.scope.municipality_id,
                         consortium_id=report.scope.consortium_id, language=report.language)


def render_tables(laid_out: Report, media_format: str, *, municipality_id: int | None = None,
                  consortium_id: int | None = None, language: str = "nl") -> RenderedReport:
    """*laid_out* rendered in *media_format* by the first report plugin that renders it: a municipality's by its
    policy's report plugins; a consortium's by the report plugins of its policy template, or when the template
    enables none, by the installed built-in report plugins with their default settings (in *language*). A
    plugin has :data:`RENDER_SECONDS` (or the longer ``PLUGIN_TIMEOUT_SECONDS``) to render. Raises
    :class:`FormatNotAvailable` when none renders the format, and :class:`~core.errors.Conflict`
    (``report_failed``) when the plugin that should have failed."""
    if municipality_id is not None:
        hooks = service.current(municipality_id).hooks
    else:
        hooks = _consortium_formats(consortium_id, language)
    limit = current_app.config["PLUGIN_TIMEOUT_SECONDS"]
    results = manager.call(hooks, "koppel_render_report", max(limit, RENDER_SECONDS) if limit > 0 else 0,
                           report=laid_out, media_format=media_format)
    for result in results:
        if result.error is None and result.value is not None:
            return result.value
    failed = [r for r in results if r.error is not None]
    if failed:
        raise Conflict(Message("The report format %(plugin)s %(version)s failed; no report was made.",
                               {"plugin": failed[0].plugin, "version": failed[0].version}, code="report_failed"))
    raise FormatNotAvailable(Message("No report format of the policy renders %(format)s.",
                                     {"format": media_format}, code="report_format_not_available"))


def _consortium_formats(consortium_id: int, language: str):
    """The plugin manager of a consortium's report formats: its template's, else the built-in ones."""
    template = service.template(consortium_id)
    plugins = {}
    for name, config in (template.plugins if template is not None else {}).items():
        try:
            if manager.plugin_class(name).kind == REPORT_FORMAT:
                plugins[name] = config
        except manager.PluginError:
            continue
    if plugins:
        key = ("consortium-report-formats", consortium_id, template.version, json.dumps(plugins, sort_keys=True))
        return manager.manager_for(key, plugins)
    builtin = {name: ({"language": language} if "language" in cls.Config().fields else {})
               for name, cls in manager.installed().items()
               if cls.kind == REPORT_FORMAT and cls.__module__.startswith("plugins.")}
    return manager.manager_for(("built-in-report-formats", json.dumps(builtin, sort_keys=True)), builtin)
