"""The OpenAPI document describes the API: schemathesis calls every operation in-process, with data that fits
the document and data that does not, as a coordinator, as a tenant admin and without a token, and runs all
its checks on every answer (documented status codes, content types, headers and schemas, no 5xx, ...).

Fixed seed (derandomized), a bounded number of examples per operation; on PostgreSQL only (row-level
security is the real thing), on a fresh ``world`` per role. The examples per operation and role are
written at the end of the run."""
from __future__ import annotations

import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from core.auth import roles as R

#: Half the examples per operation and role (hypothesis draws from both modes: fitting data and not).
EXAMPLES = 4
ROLES = (R.COORDINATOR, R.TENANT_ADMIN, None)
#: Schema-valid data the API may still refuse: 422 is its answer to input that breaks a rule the schema cannot
#: express (both from and to, an unknown family id, a plugin that is not installed, a cursor it did not issue),
#: 412 to an If-Match that fits the document but names another version (a generated tag cannot name the current
#: one). NUL bytes and lone surrogates are left out of the generated data: the app refuses them in every string
#: (400, ``invalid_characters``), which tests/test_hostile_input.py tries on every route.
CONFIG = SchemathesisConfig.from_dict({
    "checks": {"positive_data_acceptance": {
        "expected-statuses": ["2XX", "3XX", 401, 403, 404, 409, 412, 422, 429, "5XX"]}},
    "generation": {"allow-x00": False, "codec": "utf-8"},
})

_counts: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    operations = sorted({op for op, _ in _counts})
    lines = ["", f"schemathesis examples per operation and role ({len(operations)} operations):"]
    lines += [f"  {operation:75} " + "  ".join(f"{role or 'anonymous'}={_counts[operation, role]}" for role in ROLES)
              for operation in operations]
    lines += [f"  total {role or 'anonymous'}: {sum(n for (_, r), n in _counts.items() if r == role)}" for role in ROLES]
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)


def _strategy(operation, role):
    fixed = {name: value for name, value in (("municipality", "aalten"), ("consortium", "achterhoek"))
             if re.search(rf"{{{name}}}", operation.path)}
    modes = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            modes.append(operation.as_strategy(mode, path_parameters=fixed))
        except Exception:  # noqa: BLE001 - nothing to negate in this operation
            continue
    return st.one_of(modes)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_every_operation_answers_as_documented(app, world, role):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    headers = world.bearer(role) if role else {}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        ids = [p for p in re.findall(r"{(\w+_id)}", operation.path)]

        @settings(max_examples=EXAMPLES * 2, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=_strategy(operation, role), existing=st.integers(min_value=1, max_value=6))
        def run(case, existing):
            if case.meta.generation.mode == GenerationMode.POSITIVE:
                for name in ids:  # records that exist: the world holds a few of each
                    case.path_parameters[name] = existing
            _counts[operation.label, role] += 1
            response = case.call(headers=headers)
            case.validate_response(response, headers=headers)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected: one run reports every operation
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
