"""A region's pages for its consortium admin: members side by side, the onboarding wizard.

The region page reads a fixed number of statements, however many members and rows there are: the members,
their key figures (:func:`core.programme.kpis.consortium_kpis`), their early warnings of the last reviewed
months, and each member's newest policy version against the template (one statement for all members; the
comparison is :func:`core.policy.service.diff`, as :func:`core.policy.service.deviations` does it).

The wizard onboards a municipality in three steps (name and CBS code; start policy from the template;
the first tenant admin). The answers of steps 1 and 2 wait in the session (nothing personal: a name and
code of a municipality); the admin's e-mail address and name are posted with the last step only. Nothing
is written before the last step, and then all of it in one transaction (:func:`onboard`).
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from datetime import date, timedelta

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from sqlalchemy import select
from wtforms import EmailField, HiddenField, StringField
from wtforms.validators import Length

from core.auth import roles as R
from core.auth.access import CONSORTIUM, current_principal, requires
from core.extensions import db
from core.messages import Message, render
from core.policy import manager, service
from core.programme import kpis
from core.scheduling.models import EarlyWarning
from core.usecases import onboarding as onboarding_cases
from core.web import bp
from core.web.forms import Refused, attempt
from core.web.platform import plugin_kind_label
from tenants import onboarding
from tenants.context import cross_tenant_scope
from tenants.models import Municipality

#: The session key of the wizard's answers so far.
WIZARD = "onboard_wizard"
#: How many months of early warnings the region page shows (the monthly review writes them).
WARNING_MONTHS = 2


# ----------------------------------------------------------------------------- the members side by side

def _warnings(member_ids: list[int], today: date) -> dict[int, list[EarlyWarning]]:
    """The members' early warnings of the last reviewed months, newest month first, in one statement."""
    if not member_ids:
        return {}
    month, since = today.replace(day=1), today.replace(day=1)
    for _month in range(WARNING_MONTHS):
        since = (since.replace(day=1) - timedelta(days=1)).replace(day=1)
    with cross_tenant_scope("consortium-aggregation"):
        rows = db.session.scalars(
            select(EarlyWarning).where(EarlyWarning.tenant_id.in_(member_ids), EarlyWarning.period >= since,
                                       EarlyWarning.period <= month)
            .order_by(EarlyWarning.tenant_id, EarlyWarning.period.desc(), EarlyWarning.code, EarlyWarning.subject)
        ).all()
    found = defaultdict(list)
    for warning in rows:
        found[warning.tenant_id].append(warning)
    return found


#: The key figures of the region page: (label, how to read it from a municipality's Kpis).
FIGURES = (
    (_l("Registrations this year"), lambda k: k.registrations.total),
    (_l("Families waiting now"), lambda k: k.waiting.families_waiting_now),
    (_l("Days waiting now (median)"), lambda k: k.waiting.days_waiting_now.median),
    (_l("Days waiting now (longest)"), lambda k: k.waiting.days_waiting_now.longest),
    (_l("Matches started this year"), lambda k: k.matches.started),
    (_l("Matches running now"), lambda k: k.matches.running_now),
    (_l("Evaluations overdue"), lambda k: k.evaluations.overdue),
    (_l("Volunteer hours logged this year"), lambda k: k.volunteering.logged_hours),
    (_l("New matches against the year's minimum target"),
     lambda k: None if k.target is None else (k.target.new_matches, k.target.new_matches_min)),
)


def _shown(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, tuple):
        return _("%(done)s of %(target)s", done=format_decimal(value[0]), target=format_decimal(value[1]))
    return format_decimal(value)


def plugin_title(name: str) -> str:
    """A plugin's title in the reader's language (its name when it is not installed)."""
    cls = manager.installed().get(name)
    if cls is None:
        return name
    return cls.title.get(get_locale().language) or cls.title.get("nl") or name


def _titled(difference: dict) -> dict:
    """:func:`core.policy.service.diff`'s answer with each plugin by its title, as people read it."""
    return {"enabled": [plugin_title(n) for n in difference["enabled"]],
            "disabled": [plugin_title(n) for n in difference["disabled"]],
            "reconfigured": [plugin_title(n) for n in difference["reconfigured"]]}


@bp.get("/regio/<consortium>/")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
def region():
    """The region's member municipalities side by side: key figures, early warnings, policy deviations."""
    consortium = g.consortium
    members = db.session.scalars(select(Municipality).where(Municipality.consortium_id == consortium.id)
                                 .order_by(Municipality.name)).all()
    ids = [m.id for m in members]
    today = date.today()
    period = kpis.Period(date(today.year, 1, 1), date(today.year, 12, 31))
    table = []
    if ids:
        figures = kpis.consortium_kpis(ids, period, today)
        by_member = {k.municipality_ids[0]: k for k in figures.municipalities}
        table = [(label, [_shown(read(by_member[m.id])) for m in members], _shown(read(figures.total)))
                 for label, read in FIGURES]
    template = service.template(consortium.id)
    deviations = {i: _titled(change) for i, change in service.deviations(consortium.id, ids).items()}
    warnings = {i: [(w.period, render(Message.from_dict(w.message))) for w in found]
                for i, found in _warnings(ids, today).items()}
    principal = current_principal()
    staff_of = {m.id for m in members if principal.roles_for_municipality(m) & {R.COORDINATOR, R.TENANT_ADMIN}}
    is_admin = R.CONSORTIUM_ADMIN in principal.roles_for_consortium(consortium)
    return render_template("region/region.html", consortium=consortium, members=members, table=table,
                           deviations=deviations, warnings=warnings, template=template, staff_of=staff_of,
                           today=today, period=period, is_admin=is_admin)


# ----------------------------------------------------------------------------- the onboarding wizard

class MunicipalityStepForm(FlaskForm):
    step = HiddenField(default="1")
    name = StringField(_l("Name of the municipality"), validators=[Length(max=120)])
    cbs_code = StringField(_l("CBS code"), validators=[Length(max=6)])
    inhabitants = StringField(_l("Number of inhabitants"), validators=[Length(max=12)])
    slug = StringField(_l("Web address"), validators=[Length(max=63)])


class PolicyStepForm(FlaskForm):
    step = HiddenField(default="2")


class AdminStepForm(FlaskForm):
    step = HiddenField(default="3")
    name = StringField(_l("Name"), validators=[Length(max=120)])
    email = EmailField(_l("E-mail address"), validators=[Length(max=254)])


def slug_of(name: str) -> str:
    """A web address for *name*: lower case, no accents, hyphens between words ('Berg en Dal': berg-en-dal)."""
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:63].strip("-")


#: Plain messages for what is wrong in step 1 (the schema's are technical).
STEP1_MESSAGES = {
    "name": _l("Fill in the name, at most 120 characters."),
    "cbs_code": _l("A CBS code is GM followed by 4 digits, for example GM0222."),
    "inhabitants": _l("Fill in the number of inhabitants as a whole number (0 or more)."),
    "slug": _l("Use lower-case letters, digits and hyphens only, for example berg-en-dal."),
}


def check_municipality(values: dict) -> tuple[dict, dict]:
    """Step 1: the municipality's facts as :class:`tenants.onboarding.OnboardMunicipalitySchema` loads them,
    and what is wrong (field -> messages), including a CBS code or web address that another municipality
    has. Nothing is written."""
    errors: dict[str, list[str]] = {}
    try:
        data = onboarding.OnboardMunicipalitySchema().load(values)
    except ValidationError as error:
        for name, texts in error.messages.items():
            reserved = name == "slug" and any("reserved" in str(t) for t in texts)
            errors[name] = [_("'%(slug)s' is reserved for Koppel's own pages; choose another web address.",
                              slug=values.get("slug", "")) if reserved else str(STEP1_MESSAGES.get(name, texts[0]))]
        return {}, errors
    for field, message in (("cbs_code", _l("The CBS code %(value)s is already used by %(name)s.")),
                           ("slug", _l("The web address %(value)s is already used by %(name)s."))):
        other = db.session.scalar(select(Municipality.name).where(getattr(Municipality, field) == data[field]))
        if other is not None:
            errors[field] = [str(message) % {"value": data[field], "name": other}]
    return data, errors


def _state() -> dict:
    """The wizard's answers so far, for this consortium (a wizard of another region is started afresh)."""
    state = session.get(WIZARD)
    if not isinstance(state, dict) or state.get("consortium") != g.consortium.id:
        state = {"consortium": g.consortium.id, "step": 1}
    return state


def _save(state: dict) -> None:
    session[WIZARD] = state


def _template_plugins() -> list[dict]:
    """The plugins the region's template turns on, for step 2 (name, kind, title, description)."""
    row = service.template(g.consortium.id)
    language = get_locale().language
    found = []
    for name in sorted(row.plugins if row else {}):
        try:
            cls = manager.plugin_class(name)
        except manager.PluginError:
            found.append({"name": name, "kind": "", "title": name, "description": ""})
            continue
        found.append({"name": name, "kind": plugin_kind_label(cls.kind),
                      "title": cls.title.get(language) or cls.title.get("nl") or name,
                      "description": cls.description.get(language) or cls.description.get("nl") or ""})
    return found


def _render_step(step: int, form, state: dict, status: int = 200):
    return render_template(f"region/onboard_{step}.html", form=form, state=state, step=step, steps=3,
                           plugins=_template_plugins() if step in (2, 3) else None), status


@bp.route("/regio/<consortium>/onboard", methods=["GET", "POST"])
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
def region_onboard():
    """Onboard a new member municipality: its facts, its start policy, its first tenant admin."""
    state = _state()
    if request.method == "GET":
        if request.args.get("restart"):
            session.pop(WIZARD, None)
            state = _state()
        step = state.get("step", 1)
        if step == 1:
            return _render_step(1, MunicipalityStepForm(data=state.get("municipality") or {}), state)
        return _render_step(step, PolicyStepForm() if step == 2 else AdminStepForm(), state)

    posted = request.form.get("step")
    back = request.form.get("action") == "back"
    if posted == "2" and state.get("municipality"):
        form = PolicyStepForm()
        if not form.validate_on_submit():
            return _render_step(2, form, state, 400)
        state["step"] = 1 if back else 3
        _save(state)
        return redirect(url_for("web.region_onboard"))
    if posted == "3" and state.get("municipality"):
        form = AdminStepForm()
        if back and form.validate_on_submit():
            state["step"] = 2
            _save(state)
            return redirect(url_for("web.region_onboard"))
        if form.validate_on_submit():
            try:
                municipality = attempt(form, onboarding_cases.onboard, g.consortium, dict(state["municipality"]),
                                       admin_email=form.email.data or "", admin_name=form.name.data or "",
                                       invited_by=current_user._get_current_object())
            except Refused:
                for field in form:  # the use case's plain messages, in the reader's language where catalogued
                    field.errors = [_(str(text)) for text in field.errors]
                return _render_step(3, form, state, 422)
            session.pop(WIZARD, None)
            flash(_("%(name)s is ready to use: it has its policy, and its administrator has received an invitation "
                    "by e-mail.", name=municipality.name), "success")
            return redirect(url_for("web.region"))
        return _render_step(3, form, state, 422)

    # step 1 (also a later step's form sent after the wizard was reset)
    form = MunicipalityStepForm()
    if not form.validate_on_submit():
        return _render_step(1, form, state, 422)
    inhabitants = (form.inhabitants.data or "").strip().replace(".", "").replace(" ", "")
    values = {"name": (form.name.data or "").strip(), "cbs_code": (form.cbs_code.data or "").strip().upper(),
              "inhabitants": int(inhabitants) if inhabitants.isdigit() else inhabitants or None,
              "slug": (form.slug.data or "").strip().lower() or slug_of(form.name.data or "")}
    data, errors = check_municipality(values)
    if errors:
        for name, texts in errors.items():
            field = form._fields.get(name)
            if field is not None:
                field.errors = list(texts)
            else:
                form.form_errors.extend(texts)
        return _render_step(1, form, state, 422)
    state.update(step=2, municipality={k: data[k] for k in ("name", "cbs_code", "inhabitants", "slug")})
    _save(state)
    return redirect(url_for("web.region_onboard"))
