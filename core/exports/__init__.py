"""Scheduled exports for funders: schedules, stored runs, delivery, and who sees what.

* :mod:`.models`: schedules, runs (the stored files), delivery attempts, the funders' pseudonym keys.
* :mod:`.rules`: a schedule's cron expression, time zone, webhook address and periods.
* :mod:`.access`: a scope (a municipality or a consortium) and a viewer (an admin, or a funder: its own only).
* :mod:`.schedules`, :mod:`.runs`: the use cases, one function per thing a person does.
* :mod:`.delivery` and :mod:`.signing`: sending a run by e-mail (a link) or webhook (signed), every attempt kept.
* :mod:`.pseudonyms`: the per-funder key under which the report builder makes pseudonyms.

The scheduled work that runs them is :mod:`core.scheduling.exports`; the API is :mod:`core.api.exports`;
for people, ``docs/exports.md``.
"""
