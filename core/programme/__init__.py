"""The programme: families, intake and screening facts, decisions, matches,
evaluations, contacts, consent, targets and KPIs.

Models live in ``core.programme.models``; the rules live in the service
modules next to it (plain functions on the session and domain objects).
The API and web views only parse input, call a service, and render.
"""
