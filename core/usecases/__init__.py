"""Use cases: one function per thing a person or the scheduler does.

Every way in (the API, the spreadsheet import, the public form, the tasks
and the web pages) calls these functions, so a rule holds for all of them.
A use case checks the rules (policy decisions, lifecycle, permissions on the
object), calls the services in :mod:`core.programme` and :mod:`core.policy`,
and writes the audit record; the caller parses input, commits, and renders.
"""
