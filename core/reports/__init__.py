"""Programme reports: one builder for every reader, rendered by the policy's report-format plugins.

The public surface (other modules import only these):

* :func:`core.reports.builder.build` — a :class:`core.reports.model.ProgrammeReport` for one scope
  (a municipality, or a consortium with its members side by side) and a period, for an audience
  (``STAFF``: full detail inside the reader's own tenant; ``FUNDER``: private by construction).
* :func:`core.reports.layout.tables` — the report as a :class:`~core.policy.types.Report` of sections.
* :func:`core.reports.render` — the report as bytes in a media format, by the scope's report plugins.

The builder knows nothing of file formats; the plugins know nothing of the programme.
"""
