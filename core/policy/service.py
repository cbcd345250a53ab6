"""A municipality's policy: which plugins run, with which configuration, in which version.

Every change is validated by the plugins' schemas (the old policy stays in
force when anything is wrong), allows one funding model at a time, makes a
new version and is audited with what changed. A consortium's template is
what its new members start from; :func:`deviations` lists how each member
differs from it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import func, select

from core import audit
from core.errors import Conflict
from core.extensions import db
from core.policy import manager
from core.policy.models import PolicyTemplate, PolicyVersion
from tenants.context import cross_tenant_scope, tenant_scope

#: Kinds of which a policy may enable at most one plugin.
SINGLE_KINDS = ("funding", "evaluation_plan", "match_terms", "programme_review")


@dataclass(frozen=True)
class ActivePolicy:
    """The policy in force for a municipality, and its plugins' hooks."""

    tenant_id: int
    version: int
    plugins: dict = field(default_factory=dict)

    @cached_property
    def hooks(self):
        """The plugin manager; a proposal (version -1, see preview) gets one of its own, not cached."""
        if self.version < 0:
            return manager.build_manager(self.plugins)
        # the configuration is part of the key: a database rebuilt from scratch reuses (tenant, version)
        key = (self.tenant_id, self.version, json.dumps(self.plugins, sort_keys=True))
        return manager.manager_for(key, self.plugins)

    def call(self, hook_name: str, **kwargs) -> list[manager.HookResult]:
        return manager.call(self.hooks, hook_name, current_app.config["PLUGIN_TIMEOUT_SECONDS"], **kwargs)

    def call_many(self, hook_name: str, calls: list[dict]) -> list[list[manager.HookResult]]:
        return manager.call_many(self.hooks, hook_name, current_app.config["PLUGIN_TIMEOUT_SECONDS"], calls)

    def kinds(self) -> set[str]:
        return {manager.plugin_class(name).kind for name in self.plugins}

    def match_terms(self):
        """What a match's agreement may say: the match-terms plugin's, else the platform's defaults."""
        from core.policy.types import MatchTerms

        if "match_terms" in self.kinds():
            for result in self.call("koppel_match_terms"):
                if result.error is None and isinstance(result.value, MatchTerms):
                    return result.value
        return MatchTerms()

    def four_eyes(self) -> bool:
        """Whether an override of a screening finding needs a second coordinator (a plugin says so)."""
        return any(getattr(manager.plugin_class(name), "four_eyes_overrides", False) for name in self.plugins)

    def proposal(self, plugins: dict) -> ActivePolicy:
        """This municipality with *plugins* instead (validated first), for a preview."""
        return ActivePolicy(self.tenant_id, -1, validate(plugins))


def current(tenant_id: int) -> ActivePolicy:
    """The newest version of the municipality's policy (version 0, no plugins, when it has none)."""
    with tenant_scope(tenant_id):
        row = db.session.execute(select(PolicyVersion.version, PolicyVersion.plugins)
                                 .order_by(PolicyVersion.version.desc()).limit(1)).first()
    return ActivePolicy(tenant_id, row.version, row.plugins) if row else ActivePolicy(tenant_id, 0, {})


def validate(plugins: dict) -> dict:
    """Each plugin installed and its configuration valid; one funding model at most.

    Returns the configurations with defaults filled in; raises a ValidationError
    naming the plugin and field (``{"plugins": {"eligibility.poverty": {"percentage": [...]}}}``).
    """
    if not isinstance(plugins, dict):
        raise ValidationError({"plugins": ["give an object of plugin name to configuration"]})
    errors, loaded, kinds = {}, {}, {}
    for name, config in sorted(plugins.items()):
        try:
            cls = manager.plugin_class(name)
        except manager.PluginError:
            errors[name] = ["no such plugin is installed"]
            continue
        try:  # stored as JSON: Decimals become strings, which the schema loads again
            loaded[name] = json.loads(json.dumps(cls.Config().dump(cls.load_config(config or {})), default=str))
        except ValidationError as exc:
            errors[name] = exc.messages
        kinds.setdefault(cls.kind, []).append(name)
    for kind in SINGLE_KINDS:
        if len(kinds.get(kind, [])) > 1:
            errors.setdefault("_policy", []).append(f"enable one {kind} plugin at a time, not {', '.join(kinds[kind])}")
    if errors:
        raise ValidationError({"plugins": errors})
    return loaded


def diff(old: dict, new: dict) -> dict:
    """What changes from plugin configuration *old* to *new*."""
    changed = {}
    for name in sorted(set(old) & set(new)):
        fields_ = sorted(k for k in set(old[name]) | set(new[name]) if old[name].get(k) != new[name].get(k))
        if fields_:
            changed[name] = {k: [old[name].get(k), new[name].get(k)] for k in fields_}
    return {"enabled": sorted(set(new) - set(old)), "disabled": sorted(set(old) - set(new)), "reconfigured": changed}


def change(tenant_id: int, plugins: dict, note: str | None = None) -> PolicyVersion:
    """Make *plugins* the municipality's policy, as a new version (the caller commits)."""
    loaded = validate(plugins)
    policy = current(tenant_id)
    what = diff(policy.plugins, loaded)
    if not any(what.values()):
        raise Conflict(f"this is policy version {policy.version} already; nothing to change")
    with tenant_scope(tenant_id):
        version = PolicyVersion(
            version=policy.version + 1, plugins=loaded, change=what, note=note,
            plugin_versions={name: manager.plugin_class(name).version for name in loaded},
            created_by_user_id=audit.actor_user_id())
        db.session.add(version)
        db.session.flush()
        audit.record("policy.change", object_type="policy_version", object_id=version.id,
                     detail={"version": version.version, **what})
    return version


def template(consortium_id: int) -> PolicyTemplate | None:
    return db.session.scalar(select(PolicyTemplate).where(PolicyTemplate.consortium_id == consortium_id))


def set_template(consortium_id: int, plugins: dict, note: str | None = None) -> PolicyTemplate:
    """Replace the consortium's template (new members start from it; existing members keep theirs)."""
    loaded = validate(plugins)
    row = template(consortium_id)
    if row is None:
        row = PolicyTemplate(consortium_id=consortium_id, version=1, plugins=loaded, note=note,
                             updated_by_user_id=audit.actor_user_id())
        db.session.add(row)
        what = diff({}, loaded)
    else:
        what = diff(row.plugins, loaded)
        row.version, row.plugins, row.note, row.updated_by_user_id = row.version + 1, loaded, note, audit.actor_user_id()
    db.session.flush()
    audit.record("policy_template.change", object_type="consortium", object_id=consortium_id,
                 detail={"version": row.version, **what})
    return row


def start_from_template(municipality) -> PolicyVersion | None:
    """Give a new member municipality version 1 of its policy: a copy of its consortium's template."""
    row = template(municipality.consortium_id)
    if row is None or not row.plugins:
        return None
    return change(municipality.id, row.plugins, note=f"started from the template of the consortium (version {row.version})")


def deviations(consortium_id: int, member_ids: list[int]) -> dict[int, dict]:
    """How each member's current policy differs from the consortium's template (one statement for all the
    members' policies)."""
    row = template(consortium_id)
    base = row.plugins if row else {}
    policies = _current_plugins(member_ids)
    return {member_id: diff(base, policies.get(member_id, {})) for member_id in member_ids}


def _current_plugins(member_ids: list[int]) -> dict[int, dict]:
    """Each municipality's newest policy (its plugins), in one statement across them."""
    if not member_ids:
        return {}
    newest = (select(PolicyVersion.tenant_id, func.max(PolicyVersion.version).label("version"))
              .where(PolicyVersion.tenant_id.in_(member_ids)).group_by(PolicyVersion.tenant_id).subquery())
    with cross_tenant_scope("consortium-aggregation"):
        rows = db.session.execute(
            select(PolicyVersion.tenant_id, PolicyVersion.plugins)
            .join(newest, (newest.c.tenant_id == PolicyVersion.tenant_id) & (newest.c.version == PolicyVersion.version))
        ).all()
    return dict(rows)
