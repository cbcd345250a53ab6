"""The policy page of a municipality and the policy template of a region.

The page lists every installed plugin by kind, each with an on/off switch and its settings, a form
generated from the plugin's configuration schema (:mod:`core.web.schema_forms`). A change goes in two
steps: "see the effects" shows what the proposal does to the families waiting now (nothing is saved; the
proposal travels on in hidden fields), then "save" with a note makes it a new version. The use cases are
those of the API (:mod:`core.policy.service`, :mod:`core.policy.preview`); their refusals are shown at the
fields they name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from core.auth import roles as R
from core.auth.access import CONSORTIUM, current_principal, requires
from core.auth.models import User
from core.errors import Conflict
from core.extensions import db
from core.messages import current_language
from core.policy import manager, preview, service
from core.policy.models import PolicyVersion
from core.policy.plugin import KINDS
from core.programme.models import Family
from core.web import bp
from core.web import schema_forms as sf
from core.web.reauth import fresh_login

READERS = R.POLICY_READERS
ADMINS = R.POLICY_PREVIEWERS
VERSIONS_PER_PAGE = 20
#: The most families named in each list of the preview (the counts are complete).
FAMILIES_SHOWN = 100

KIND_TITLES = {
    "eligibility": _l("Who may take part"),
    "screening": _l("Screening"),
    "funding": _l("Funding"),
    "report_format": _l("Report formats"),
    "matching": _l("Matching"),
    "evaluation_plan": _l("Evaluation plan"),
    "outcome_instrument": _l("Measuring outcomes"),
    "match_terms": _l("Match terms"),
    "programme_review": _l("Programme review"),
}
KIND_HINTS = {
    "funding": _l("Switch on one funding model at a time."),
    "evaluation_plan": _l("Switch on one evaluation plan at a time."),
    "match_terms": _l("Switch on one set of match terms at a time."),
    "programme_review": _l("Switch on one programme review at a time."),
}


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note on this change"), validators=[Optional(), Length(max=2000)])


@dataclass
class Panel:
    """One plugin on the page: its texts, switch and settings."""

    name: str
    kind: str
    title: str
    description: str
    enabled: bool
    controls: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # messages about the plugin's configuration as a whole

    @property
    def open(self) -> bool:
        return self.enabled or bool(self.errors) or any(sf.problems(self.controls))

    @property
    def anchor(self) -> str:
        return sf.html_id("plugin." + self.name)


def _text(texts: dict) -> str:
    return texts.get(current_language()) or texts.get("nl") or ""


def prefix(name: str) -> str:
    return f"config.{name}."


def plugin_title(name: str) -> str:
    try:
        return _text(manager.plugin_class(name).title)
    except manager.PluginError:
        return name


def proposal(form: MultiDict) -> dict:
    """The plugins a posted form enables, each with the raw configuration its controls carry."""
    installed = manager.installed()
    plugins = {}
    for name in dict.fromkeys(form.getlist("enabled")):
        cls = installed.get(name)
        plugins[name] = sf.parse(cls.Config(), form, prefix(name)) if cls is not None else {}
    return plugins


def panels(current: dict, form: MultiDict | None = None, messages: dict | None = None) -> tuple[list, list]:
    """The plugins by kind (``[(kind, title, hint, [Panel])]``) with the policy *current*, or what *form*
    posted; *messages*, the use case's refusal (``{"plugins": {...}}``), on the controls. Also returns the
    messages that belong to no plugin."""
    refused = (messages or {}).get("plugins", {}) if isinstance(messages, dict) else {}
    general = []
    if isinstance(refused, dict):
        general.extend(sf.translate(m) for m in refused.get("_policy", []))
    else:
        general.extend(sf.translate(m) for m in refused)
        refused = {}
    enabled = set(form.getlist("enabled")) if form is not None else set(current)
    by_kind: dict[str, list[Panel]] = {kind: [] for kind in KINDS}
    for name, cls in manager.installed().items():
        schema = cls.Config()
        if form is not None and prefix(name) + sf.PRESENT in form:
            values = sf.parse(schema, form, prefix(name))
        else:
            values = current.get(name) or sf.defaults(cls.Config)
        panel = Panel(name, cls.kind, _text(cls.title), _text(cls.description), name in enabled,
                      sf.build(schema, values, prefix(name)))
        if name in refused:
            panel.errors = sf.attach_errors(panel.controls, refused[name], domain=name)
        by_kind.setdefault(cls.kind, []).append(panel)
    unknown = sorted(set(refused) - set(manager.installed()) - {"_policy"})
    general.extend(f"{name}: {sf.translate(m)}" for name in unknown for m in _as_list(refused[name]))
    groups = [(kind, str(KIND_TITLES.get(kind, kind)), str(KIND_HINTS.get(kind, "")), found)
              for kind, found in by_kind.items() if found]
    return groups, general


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def summary(groups: list, general: list) -> list[tuple[str | None, str]]:
    """The error summary: (the id of the control, the text), messages of no control first."""
    out = [(None, message) for message in general]
    for _kind, _title, _hint, found in groups:
        for panel in found:
            out.extend((panel.anchor, f"{panel.title}: {message}") for message in panel.errors)
            out.extend((c.id, f"{panel.title}, {c.label}: {message}") for c, message in sf.problems(panel.controls))
    return out


def show_value(value) -> str:
    """A configuration value in a change, for people."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        return format_decimal(value)
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{sf.FIELD_LABELS.get(k, k)}: {show_value(v)}" for k, v in value.items())
    return str(value)


def setting_label(plugin: str, key: str) -> str:
    try:
        fields_ = manager.plugin_class(plugin).Config().fields
    except manager.PluginError:
        return key
    return sf.field_label(key, fields_[key]) if key in fields_ else key


@bp.app_template_global()
def policy_change(change: dict | None) -> dict:
    """A policy change (``service.diff``) for people: plugin titles, setting labels, values."""
    change = change or {}
    return {
        "enabled": [plugin_title(n) for n in change.get("enabled", [])],
        "disabled": [plugin_title(n) for n in change.get("disabled", [])],
        "reconfigured": [(plugin_title(n), [(setting_label(n, k), show_value(old), show_value(new))
                                            for k, (old, new) in sorted(settings.items())])
                         for n, settings in sorted((change.get("reconfigured") or {}).items())],
    }


def _latest() -> tuple | None:
    """The newest version with its author's name (one query)."""
    return db.session.execute(
        select(PolicyVersion.version, PolicyVersion.created_at, User.name)
        .outerjoin(User, User.id == PolicyVersion.created_by_user_id)
        .order_by(PolicyVersion.version.desc()).limit(1)).first()


def _render_page(current, form: MultiDict | None = None, messages=None, extra: list | None = None, status=200):
    groups, general = panels(current.plugins, form, messages)
    general = [*(extra or []), *general]
    return render_template(
        "policy/page.html", groups=groups, problems=summary(groups, general), policy=current, latest=_latest(),
        can_preview=bool(g.roles & set(ADMINS)), can_save=R.TENANT_ADMIN in g.roles, prefix=prefix,
        present=sf.PRESENT), status


@bp.get("/<municipality>/admin/policy")
@requires(*READERS)
def admin_policy():
    """The policy in force: every installed plugin by kind, on or off, with its settings."""
    return _render_page(service.current(g.tenant.id))


def _hidden(form: MultiDict) -> list[tuple[str, str]]:
    """The proposal's fields, to carry on from the preview to the save (the CSRF token and note excluded)."""
    enabled = set(form.getlist("enabled"))
    keep = []
    for key, value in form.items(multi=True):
        if key == "enabled" or any(key.startswith(prefix(name)) for name in enabled):
            keep.append((key, value))
    return keep


def _families(ids: list[int]) -> list[tuple[int, str]]:
    shown = ids[:FAMILIES_SHOWN]
    if not shown:
        return []
    names = dict(db.session.execute(select(Family.id, Family.display_name).where(Family.id.in_(shown))).all())
    return [(i, names.get(i, "")) for i in shown]


def _render_preview(effect: dict, form: MultiDict, note_form: NoteForm, status=200):
    return render_template(
        "policy/preview.html", effect=effect, change=policy_change(effect["change"]),
        changes=any(effect["change"].values()), hidden=_hidden(form), note_form=note_form,
        became=_families(effect["become_eligible"]), lost=_families(effect["lose_eligibility"]),
        can_save=R.TENANT_ADMIN in g.roles), status


def _check_csrf(form: FlaskForm) -> None:
    token = getattr(form, "csrf_token", None)
    if request.method == "POST" and not form.validate_on_submit() and token is not None and token.errors:
        raise BadRequest()


@bp.route("/<municipality>/admin/policy/preview", methods=["GET", "POST"])
@requires(*ADMINS)
@fresh_login
def admin_policy_preview():
    """What the proposal would do to the open requesting families' eligibility; nothing is saved.
    (A GET, e.g. after switching the language on the preview, leads back to the policy page.)"""
    if request.method == "GET":
        return redirect(url_for("web.admin_policy"))
    note_form = NoteForm()
    _check_csrf(note_form)
    current = service.current(g.tenant.id)
    if request.form.get("edit"):  # back from the preview to the form, with the proposal
        return _render_page(current, request.form)
    try:
        effect = preview.preview(g.tenant.id, proposal(request.form))
    except ValidationError as error:
        db.session.rollback()
        return _render_page(current, request.form, error.messages, status=422)
    return _render_preview(effect, request.form, note_form)


@bp.route("/<municipality>/admin/policy/save", methods=["GET", "POST"])
@requires(R.TENANT_ADMIN)
@fresh_login
def admin_policy_save():
    """Make the proposal the policy, as a new version with the note (the schemas judge it again).
    (A GET leads back to the policy page.)"""
    if request.method == "GET":
        return redirect(url_for("web.admin_policy"))
    note_form = NoteForm()
    _check_csrf(note_form)
    current = service.current(g.tenant.id)
    plugins = proposal(request.form)
    if note_form.errors:
        try:
            effect = preview.preview(g.tenant.id, plugins)
        except ValidationError as error:
            db.session.rollback()
            return _render_page(current, request.form, error.messages, status=422)
        return _render_preview(effect, request.form, note_form, status=422)
    try:
        version = service.change(g.tenant.id, plugins, (note_form.note.data or "").strip() or None)
        db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        return _render_page(current, request.form, error.messages, status=422)
    except Conflict:
        db.session.rollback()
        return _render_page(current, request.form, extra=[
            _("Nothing changes: this is the policy in force (version %(version)s).", version=current.version)],
            status=409)
    flash(_("The policy is saved as version %(version)s.", version=version.version), "success")
    return redirect(url_for("web.admin_policy_versions"))


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("/<municipality>/admin/policy/versions")
@requires(*READERS)
def admin_policy_versions():
    """Every version of the policy, the newest first: who changed what, when, and why."""
    total = db.session.scalar(select(func.count()).select_from(PolicyVersion))
    pages = max(1, math.ceil(total / VERSIONS_PER_PAGE))
    number = min(_page_number(), pages)
    rows = db.session.execute(
        select(PolicyVersion.version, PolicyVersion.created_at, PolicyVersion.change, PolicyVersion.note,
               User.name)
        .outerjoin(User, User.id == PolicyVersion.created_by_user_id)
        .order_by(PolicyVersion.version.desc())
        .limit(VERSIONS_PER_PAGE).offset((number - 1) * VERSIONS_PER_PAGE)).all()
    return render_template("policy/versions.html", rows=rows, number=number, pages=pages, total=total)


# --- the region's template --------------------------------------------------------------------------------

def _consortium_roles() -> frozenset[str]:
    principal = current_principal()
    return principal.roles_for_consortium(g.consortium) if principal is not None else frozenset()


def _render_template_page(form: MultiDict | None = None, messages=None, note_form: NoteForm | None = None,
                          status=200):
    row = service.template(g.consortium.id)
    plugins = row.plugins if row else {}
    groups, general = panels(plugins, form, messages)
    members = sorted(g.consortium.municipalities, key=lambda m: m.name)
    found = service.deviations(g.consortium.id, [m.id for m in members])
    deviations = [(m, policy_change(found[m.id])) for m in members]
    note_form = note_form or NoteForm(formdata=None)
    problems = summary(groups, general) + [(note_form.note.id, f"{note_form.note.label.text}: {e}")
                                           for e in note_form.note.errors]
    return render_template(
        "policy/template.html", groups=groups, problems=problems, row=row, deviations=deviations,
        can_save=R.CONSORTIUM_ADMIN in _consortium_roles(), note_form=note_form, prefix=prefix,
        present=sf.PRESENT), status


@bp.get("/regio/<consortium>/template")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
def region_template():
    """The policy the region's new municipalities start from, and how each member differs from it."""
    return _render_template_page()


@bp.route("/regio/<consortium>/template/save", methods=["GET", "POST"])
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
@fresh_login
def region_template_save():
    """Make the proposal the region's template (the schemas judge it). (A GET leads back to the template.)"""
    if request.method == "GET":
        return redirect(url_for("web.region_template"))
    note_form = NoteForm()
    _check_csrf(note_form)
    if note_form.errors:
        return _render_template_page(request.form, note_form=note_form, status=422)
    try:
        row = service.set_template(g.consortium.id, proposal(request.form),
                                   (note_form.note.data or "").strip() or None)
        db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        return _render_template_page(request.form, error.messages, note_form=note_form, status=422)
    flash(_("The policy template is saved as version %(version)s.", version=row.version), "success")
    return redirect(url_for("web.region_template"))
