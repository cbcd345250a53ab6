"""A requesting or supporting family: the list, registration, the family page, intake and triage.

Every page reads a fixed number of statements, whatever the number of rows. Every read of a family is
audited as the API does (``families.read``; the list records the ids it showed). A search on a name is a
POST: a name never appears in a URL.
"""
from __future__ import annotations

from datetime import date, timezone

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased
from wtforms import (DateField, HiddenField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from core import audit
from core.api.common import keyset_page
from core.auth import roles as R
from core.auth.models import User
from core.auth.access import requires
from core.extensions import db
from core.messages import current_language, explanation, label
from core.programme import families as family_service
from core.programme import schemas as S
from core.programme import vocabulary as V
from core.programme.kpis import AMSTERDAM
from core.programme.models import (Approval, Consent, Contact, Decision, DuplicateFlag, Family, IntakeMeeting,
                                   Match)
from core.usecases import decisions as decision_cases
from core.usecases import families
from core.web import bp
from core.web.forms import PostForm, Refused, attempt, same_version

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
PAGE_SIZE = 50
#: Household members the registration form offers rows for.
MEMBER_ROWS = 6
#: Contacts listed on the family page (the totals count them all).
CONTACTS_SHOWN = 50
#: The list's orders: (column, descending).
SORTS = {"registered": (Family.registered_on, True), "waiting": (Family.status_changed_at, False),
         "name": (Family.display_name, False)}


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _vocab(vocabulary: str, codes) -> list[tuple[str, str]]:
    return [(code, label(vocabulary, code)) for code in codes]


@bp.app_template_global()
def euro(amount) -> str:
    """An amount in euros, as Babel writes it in the reader's language."""
    from flask_babel import format_currency

    return format_currency(amount, "EUR")


def _version_matches(form) -> object:
    return same_version(form.version.data)


def _iso(value):
    return value.isoformat() if isinstance(value, date) else value


def _status_for(form) -> int:
    """The answer to a refused form: 422 for invalid input, 409 for a refusal of the state (a conflict, a
    stale version)."""
    fields_wrong = any(f.errors for f in form if f.type not in ("CSRFTokenField",))
    return 422 if fields_wrong or not form.form_errors else 409


# --------------------------------------------------------------------------- the list

class FilterForm(FlaskForm):
    """The list's filters (GET: no names in them; made with ``meta={"csrf": False}``)."""

    kind = SelectField(_l("Kind"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    district = SelectField(_l("District"), validators=[Optional()])
    sort = SelectField(_l("Order"), validators=[Optional()])

    def fill(self, districts: list[str]) -> FilterForm:
        self.kind.choices = [("", _("All kinds")), *_vocab("family_kind", V.FAMILY_KINDS)]
        self.status.choices = [("", _("All statuses")), *_vocab("family_status", V.FAMILY_STATUSES)]
        self.district.choices = [("", _("All districts")), *((d, d) for d in districts)]
        self.sort.choices = [("registered", _("Newest registration first")),
                             ("waiting", _("Longest in this status first")), ("name", _("Name"))]
        return self

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in ("kind", "status", "district", "sort")
                if getattr(self, name).data}


class SearchForm(FilterForm):
    """A search on the name: a POST with the CSRF token, the filters in hidden fields."""

    q = StringField(_l("Name"), validators=[DataRequired(), Length(min=2, max=80)])
    cursor = HiddenField()


def _districts() -> list[str]:
    return list(db.session.scalars(select(Family.district_code).where(Family.district_code.is_not(None))
                                   .group_by(Family.district_code).order_by(Family.district_code)))


def _list(filters: dict, cursor: str, q: str | None = None):
    """A page of families; (rows, next cursor). Raises ValidationError on a cursor of another list."""
    statement = select(Family)
    if filters.get("kind"):
        statement = statement.where(Family.kind == filters["kind"])
    if filters.get("status"):
        statement = statement.where(Family.status == filters["status"])
    if filters.get("district"):
        statement = statement.where(Family.district_code == filters["district"])
    if q:
        statement = statement.where(func.lower(Family.display_name).contains(q.lower(), autoescape=True))
    sort = filters.get("sort") or "registered"
    column, descending = SORTS[sort]
    query = {"limit": PAGE_SIZE, "cursor": cursor or "", "sort": sort, "order": "desc" if descending else "asc"}
    rows, next_cursor = keyset_page(statement, query, Family.id, column, descending=descending)
    audit.record("family.list", object_type="family", detail={"ids": [f.id for f in rows]})
    return rows, next_cursor


def waiting_days(family: Family, today: date) -> int | None:
    """Days a waiting family has been waiting (since its status last changed), else None."""
    if family.status != V.WAITING or family.status_changed_at is None:
        return None
    moment = family.status_changed_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0, (today - moment.astimezone(AMSTERDAM).date()).days)


@bp.route("/<municipality>/families", methods=["GET", "POST"], endpoint="families")
@requires(*STAFF)
def families_list():
    """The families, filtered (GET) or searched by name (POST), a page at a time."""
    districts = _districts()
    search = SearchForm().fill(districts) if request.method == "POST" else SearchForm(formdata=None).fill(districts)
    q, status = None, 200
    if request.method == "POST":
        if search.validate_on_submit():
            q = search.q.data.strip()
        else:
            status = 422
        filters = FilterForm(formdata=None, meta={"csrf": False},
                             data={n: getattr(search, n).data for n in ("kind", "status", "district", "sort")})
        filters.fill(districts)
        cursor = search.cursor.data or ""
    else:
        filters = FilterForm(request.args, meta={"csrf": False}).fill(districts)
        if not filters.validate():
            status = 422
        cursor = request.args.get("cursor", "")
    rows, next_cursor = [], None
    if status == 200:
        try:
            rows, next_cursor = _list(filters.values(), cursor, q)
        except ValidationError:
            filters.form_errors.append(_("This page of the list no longer exists; start again from the first page."))
            status = 400
    html = render_template("families/list.html", filters=filters, search=search, rows=rows, q=q,
                           next_cursor=next_cursor, today=date.today(), waiting_days=waiting_days,
                           filter_values=filters.values() if not filters.errors else {})
    db.session.commit()  # the audit record of the list
    return html, status


# --------------------------------------------------------------------------- registration by a coordinator

def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


class RegisterForm(FlaskForm):
    kind = RadioField(_l("Kind of family"), validators=[InputRequired(message=_l("Choose the kind of family."))])
    display_name = StringField(_l("Family name"), validators=[DataRequired(message=_l("Fill in the family name.")),
                                                             Length(max=120)])
    street = StringField(_l("Street"), validators=[Optional(), Length(max=120)])
    house_number = StringField(_l("House number"), validators=[Optional(), Length(max=16)])
    postcode = StringField(_l("Postcode"), filters=[_upper], validators=[Optional(), Regexp(
        S.POSTCODE.pattern, message=_l("Fill in a Dutch postcode, for example 7121 AB."))])
    city = StringField(_l("Town"), validators=[Optional(), Length(max=80)])
    district_code = StringField(_l("District (CBS code)"), filters=[_upper], validators=[Optional(), Regexp(
        S.DISTRICT.pattern, message=_l("Fill in a CBS district code, for example WK019701."))])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=32)])
    email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=254)])
    referral_source = SelectField(_l("Referred by"), validators=[InputRequired()])
    referrer_organisation = StringField(_l("Referrer's organisation"), validators=[Optional(), Length(max=120)])
    support_kinds = MultiCheckboxField(_l("Kind of support asked or offered"), validators=[Optional()])
    problem_areas = MultiCheckboxField(_l("What the family struggles with (requesting families)"),
                                       validators=[Optional()])
    household_income = IntegerField(_l("Net household income per month in euros (requesting families)"),
                                    validators=[Optional(), NumberRange(min=0, max=100_000)])
    wishes = TextAreaField(_l("Wishes and remarks"), validators=[Optional(), Length(max=4000)])

    def fill(self) -> RegisterForm:
        self.kind.choices = _vocab("family_kind", V.FAMILY_KINDS)
        self.referral_source.choices = _vocab("referral_source", V.REFERRAL_SOURCES)
        self.support_kinds.choices = _vocab("support_kind", V.SUPPORT_KINDS)
        self.problem_areas.choices = _vocab("problem_area", V.PROBLEM_AREAS)
        for i in range(1, MEMBER_ROWS + 1):
            getattr(self, f"member{i}_role").choices = _vocab("member_role", V.MEMBER_ROLES)
        return self

    def member_rows(self):
        for i in range(1, MEMBER_ROWS + 1):
            yield i, [getattr(self, f"member{i}_{n}") for n in ("role", "first_name", "last_name", "date_of_birth")]


for _i in range(1, MEMBER_ROWS + 1):
    setattr(RegisterForm, f"member{_i}_role", SelectField(_l("Adult or child"), validators=[Optional()]))
    setattr(RegisterForm, f"member{_i}_first_name",
            StringField(_l("First name"), validators=[Optional(), Length(max=80)]))
    setattr(RegisterForm, f"member{_i}_last_name",
            StringField(_l("Last name"), validators=[Optional(), Length(max=80)]))
    setattr(RegisterForm, f"member{_i}_date_of_birth", DateField(_l("Date of birth"), validators=[Optional()]))

#: Fields of the family that apply to requesting families only (left out for a supporting family).
REQUESTING_ONLY = ("problem_areas", "household_income")
OPTIONAL_TEXT = ("street", "house_number", "postcode", "city", "district_code", "phone", "email",
                 "referrer_organisation", "wishes")


def _registration(form: RegisterForm) -> tuple[dict, dict[str, str]]:
    """The form as ``FamilyCreateSchema`` input, and where each member's schema errors go on the form."""
    raw = {"kind": form.kind.data, "display_name": (form.display_name.data or "").strip(),
           "referral_source": form.referral_source.data, "support_kinds": form.support_kinds.data or [],
           "registered_on": date.today().isoformat()}
    for name in OPTIONAL_TEXT:
        value = (getattr(form, name).data or "").strip()
        if value:
            raw[name] = value
    if form.kind.data == V.REQUESTING:
        raw["problem_areas"] = form.problem_areas.data or []
        if form.household_income.data is not None:
            raw["household_income"] = form.household_income.data
    members, where = [], {}
    for i, (role, first, last, born) in form.member_rows():
        if not (first.data or "").strip():
            continue
        index = len(members)
        member = {"role": role.data, "first_name": first.data.strip()}
        if (last.data or "").strip():
            member["last_name"] = last.data.strip()
        if born.data:
            member["date_of_birth"] = born.data.isoformat()
        members.append(member)
        for schema_name, form_name in (("role", "role"), ("first_name", "first_name"), ("last_name", "last_name"),
                                       ("date_of_birth", "date_of_birth")):
            where[f"members.{index}.{schema_name}"] = f"member{i}_{form_name}"
    raw["members"] = members
    return raw, where


def _register(raw: dict) -> Family:
    return families.register(S.FamilyCreateSchema().load(raw))


@bp.route("/<municipality>/families/new", methods=["GET", "POST"])
@requires(*STAFF)
def family_new():
    """A coordinator registers a requesting or supporting family with its household members."""
    form = RegisterForm().fill()
    if form.validate_on_submit():
        raw, where = _registration(form)
        try:
            family = attempt(form, _register, raw, fields=where)
            flash(_("The family is registered."), "success")
            return redirect(url_for("web.family", family_id=family.id))
        except Refused:
            pass
    status = 422 if form.errors or form.form_errors else 200
    return render_template("families/new.html", form=form), status


# --------------------------------------------------------------------------- the family page and its forms

class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[InputRequired(message=_l("Choose a status."))])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])
    version = HiddenField()


class TriageForm(FlaskForm):
    outcome = RadioField(_l("Outcome of the triage"), validators=[InputRequired(message=_l("Choose an outcome."))])
    on = DateField(_l("Date of the triage"), default=date.today, validators=[InputRequired()])
    version = HiddenField()


class IntakeForm(FlaskForm):
    held_on = DateField(_l("Date of the intake meeting"), default=date.today,
                        validators=[InputRequired(message=_l("Fill in the date of the intake meeting."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=8000)])
    version = HiddenField()


class ApproveForm(FlaskForm):
    note = TextAreaField(_l("Note with your approval"), validators=[Optional(), Length(max=2000)])
    version = HiddenField()


class ConsentForm(FlaskForm):
    purpose = SelectField(_l("Consent for"), validators=[InputRequired()])
    wording_version = StringField(_l("Version of the consent text"), default="2026-01",
                                  validators=[DataRequired(), Length(max=32)])
    given_on = DateField(_l("Given on"), default=date.today, validators=[InputRequired()])
    version = HiddenField()


class WithdrawForm(FlaskForm):
    version = HiddenField()


class ContactForm(FlaskForm):
    kind = SelectField(_l("Kind of contact"), validators=[InputRequired()])
    occurred_on = DateField(_l("Date"), default=date.today, validators=[InputRequired()])
    duration_minutes = IntegerField(_l("Duration in minutes"), default=0,
                                    validators=[InputRequired(), NumberRange(min=0, max=1440)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=8000)])


class OverrideForm(FlaskForm):
    outcome = SelectField(_l("Your decision"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Give the reason for your decision.")),
                                                     Length(max=2000)])


#: The outcomes a coordinator may decide, per kind of decision.
OVERRIDE_OUTCOMES = {"eligibility": ("eligible", "not_eligible"), "screening": ("passed", "failed")}


def _forms(family: Family, given: dict) -> dict:
    """Every form of the family page, prefixed so their fields keep apart; *given* ones as they were posted."""
    forms = {
        "status": StatusForm(prefix="status", formdata=None),
        "triage": TriageForm(prefix="triage", formdata=None),
        "approve": ApproveForm(prefix="approve", formdata=None),
        "consent": ConsentForm(prefix="consent", formdata=None),
        "contact": ContactForm(prefix="contact", formdata=None),
        "withdraw": WithdrawForm(prefix="withdraw", formdata=None),
    }
    forms.update(given)
    allowed = sorted(family_service.TRANSITIONS[family.kind].get(family.status, set()))
    forms["status"].status.choices = [("", _("Choose a status")), *_vocab("family_status", allowed)] if allowed else []
    forms["triage"].outcome.choices = _vocab("triage_outcome", V.TRIAGE_OUTCOMES)
    forms["consent"].purpose.choices = _vocab("consent_purpose", V.CONSENT_PURPOSES)
    forms["contact"].kind.choices = _vocab("contact_kind", V.CONTACT_KINDS)
    for name in ("status", "triage", "approve", "consent", "withdraw"):
        if name not in given:
            forms[name].version.data = family.version
    return forms


def _rule_title(rule: str | None) -> str:
    """A plugin's title in the reader's language, else the rule's name."""
    if not rule:
        return ""
    try:
        from core.policy import manager

        title = getattr(manager.plugin_class(rule), "title", None)
    except Exception:  # noqa: BLE001 - an uninstalled plugin: its name is all there is
        title = None
    if isinstance(title, dict):
        return title.get(current_language()) or title.get("en") or rule
    return rule


def _finding(finding: dict) -> dict:
    return {"rule": finding.get("rule"), "title": _rule_title(finding.get("plugin") or finding.get("rule")),
            "result": finding.get("result"), "effect": finding.get("effect"), "text": explanation(finding)}


def _decisions(family: Family) -> tuple[list[dict], list[Decision]]:
    """The latest policy decision of each kind with its findings and overrides; and every decision (history)."""
    every = list(db.session.scalars(select(Decision).where(Decision.family_id == family.id)
                                    .order_by(Decision.id.desc())))
    current = []
    for kind in V.DECISION_KINDS:
        latest = next((d for d in every if d.kind == kind and d.source == V.POLICY), None)
        if latest is None:
            continue
        overrides = [d for d in every if d.overrides_id == latest.id]
        current.append({"decision": latest, "findings": [_finding(f) for f in latest.findings],
                        "overrides": overrides, "outcomes": _vocab("decision_outcome", OVERRIDE_OUTCOMES[kind])})
    return current, every


def _checklist(family: Family, intakes: list, approvals: list, consents: list) -> list[tuple[str, bool, str]]:
    """The screening checklist: (what, done, detail)."""
    processing = any(c.purpose == "processing" and c.withdrawn_on is None for c in consents)
    items = [(_("Consent for processing the family's data"), processing, "")]
    latest_intake = intakes[0].held_on if intakes else None
    items.append((_("Intake meeting"), latest_intake is not None,
                  _("held on %(date)s", date=format_day(latest_intake)) if latest_intake else ""))
    if family.kind == V.REQUESTING:
        items.append((_("Triage"), family.triage_outcome is not None,
                      label("triage_outcome", family.triage_outcome) if family.triage_outcome else ""))
        items.append((_("Household income recorded"), family.household_income is not None, ""))
        return items
    adults = [m for m in family.members if m.role == "adult"]
    for adult in adults:
        items.append((_("Certificate of conduct (VOG) of %(name)s", name=adult.first_name),
                      adult.vog_issued_on is not None,
                      _("issued on %(date)s", date=format_day(adult.vog_issued_on)) if adult.vog_issued_on else ""))
    if not adults:
        items.append((_("Certificate of conduct (VOG) of every adult"), False, _("no adult recorded")))
    items.append((_("References checked"), family.references_checked > 0,
                  _("%(n)s checked", n=family.references_checked)))
    for title, day in ((_("Training attended"), family.training_attended_on),
                       (_("Home visit"), family.home_visit_on), (_("Agreement signed"), family.agreement_signed_on)):
        items.append((title, day is not None, format_day(day) if day else ""))
    items.append((_("Approvals by coordinators"), len(approvals) >= 1, _("%(n)s of 2", n=len(approvals))))
    return items


#: The reasons the services write in a family's status history, in the reader's language.
HISTORY_REASONS = {"registered": _l("registered"), "intake meeting": _l("intake meeting")}


@bp.app_template_global()
def status_reason(reason: str | None) -> str:
    """A status change's reason: the services' own words translated, a coordinator's as written."""
    if not reason:
        return "–"
    if reason in HISTORY_REASONS:
        return str(HISTORY_REASONS[reason])
    if reason.startswith("triage: "):
        return _("triage: %(outcome)s", outcome=label("triage_outcome", reason.removeprefix("triage: ")))
    return reason


def format_day(day: date | None) -> str:
    from flask_babel import format_date

    return format_date(day) if day else ""


#: The other families a family page names (made once: an alias made per request costs its compilation each time).
_REQUESTING, _SUPPORTING, _OTHER = aliased(Family), aliased(Family), aliased(Family)


def _page(family_id: int, given: dict | None = None, status: int = 200):
    """The family page (a read, audited); *given* forms carry what was posted and its errors."""
    family = families.read(family_id)
    given = given or {}
    requesting, supporting = _REQUESTING, _SUPPORTING
    matches = list(db.session.execute(
        select(Match.id, Match.state, Match.proposed_on, Match.trial_on, Match.ended_on,
               Match.requesting_family_id, Match.supporting_family_id,
               requesting.display_name.label("requesting_name"), supporting.display_name.label("supporting_name"))
        .join(requesting, requesting.id == Match.requesting_family_id)
        .join(supporting, supporting.id == Match.supporting_family_id)
        .where(or_(Match.requesting_family_id == family.id, Match.supporting_family_id == family.id))
        .order_by(Match.id.desc())))
    consents = list(db.session.scalars(select(Consent).where(Consent.family_id == family.id).order_by(Consent.id)))
    contacts = list(db.session.scalars(select(Contact).where(Contact.family_id == family.id)
                                       .order_by(Contact.occurred_on.desc(), Contact.id.desc()).limit(CONTACTS_SHOWN)))
    contact_count, contact_minutes = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Contact.duration_minutes), 0))
        .where(Contact.family_id == family.id)).one()
    intakes = list(db.session.scalars(select(IntakeMeeting).where(IntakeMeeting.family_id == family.id)
                                      .order_by(IntakeMeeting.held_on.desc(), IntakeMeeting.id.desc())))
    approvals = list(db.session.scalars(select(Approval).where(Approval.family_id == family.id).order_by(Approval.id)))
    other = _OTHER
    duplicates = list(db.session.execute(
        select(DuplicateFlag.id, DuplicateFlag.reason, other.id.label("other_id"), other.display_name)
        .join(other, or_(and_(DuplicateFlag.family_id == family.id, other.id == DuplicateFlag.other_family_id),
                         and_(DuplicateFlag.other_family_id == family.id, other.id == DuplicateFlag.family_id)))
        .where(DuplicateFlag.resolution.is_(None))))
    current, every = _decisions(family)
    forms = _forms(family, given)
    override_forms = {}
    for item in current:
        decision = item["decision"]
        name = f"override-{decision.id}"
        form = given.get(name) or OverrideForm(prefix=name, formdata=None)
        form.outcome.choices = item["outcomes"]
        override_forms[decision.id] = form
    me = audit.actor_user_id()
    user_ids = {d.decided_by_user_id for d in every} | {d.confirmed_by_user_id for d in every} \
        | {a.user_id for a in approvals} | {i.coordinator_user_id for i in intakes} \
        | {c.by_user_id for c in family.status_changes} | {c.by_user_id for c in contacts}
    user_ids.discard(None)
    users = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(sorted(user_ids)))).all())
    html = render_template(
        "families/family.html", family=family, members=family.members, history=family.status_changes,
        matches=matches, consents=consents, contacts=contacts, contact_count=contact_count,
        contact_minutes=int(contact_minutes), intakes=intakes, approvals=approvals,
        approved_by_me=any(a.user_id == me for a in approvals), me=me, users=users, duplicates=duplicates,
        current=current, history_decisions=every, forms=forms, override_forms=override_forms,
        confirm_form=given.get("confirm") or PostForm(formdata=None),
        checklist=_checklist(family, intakes, approvals, consents), waiting_days=waiting_days(family, date.today()))
    db.session.commit()  # the audit record of the read
    return html, status


@bp.get("/<municipality>/families/<int:family_id>")
@requires(*STAFF)
def family(family_id):
    """Everything about a family on one page, with the forms of what a coordinator does next."""
    return _page(family_id)


def _post(family_id: int, name: str, form: FlaskForm, action, *args, anchor: str, done: str, fields=None):
    """Handle a form of the family page: the use case through :func:`attempt`, then back to the page (PRG);
    refused, the page again with the form's messages and a 4xx."""
    if form.validate_on_submit():
        try:
            attempt(form, action, *args, fields=fields)
            flash(done, "success")
            return redirect(url_for("web.family", family_id=family_id) + f"#{anchor}")
        except Refused:
            pass
    return _page(family_id, {name: form}, _status_for(form))


def _loaded(schema, raw: dict) -> dict:
    return schema.load({k: v for k, v in raw.items() if v is not None})


@bp.post("/<municipality>/families/<int:family_id>/status")
@requires(*STAFF)
def family_status(family_id):
    form = StatusForm(prefix="status")
    form.status.choices = _vocab("family_status", V.FAMILY_STATUSES)

    def change(raw):
        data = _loaded(S.StatusChangeSchema(), raw)
        return families.change_status(family_id, data["status"], data.get("reason"), _version_matches(form))

    return _post(family_id, "status", form, change, {"status": form.status.data, "reason": form.reason.data or None},
                 anchor="status", done=_("The status is changed."))


@bp.post("/<municipality>/families/<int:family_id>/triage")
@requires(*STAFF)
def family_triage(family_id):
    form = TriageForm(prefix="triage")
    form.outcome.choices = _vocab("triage_outcome", V.TRIAGE_OUTCOMES)

    def triage(raw):
        data = _loaded(S.TriageSchema(), raw)
        return families.record_triage(family_id, data["outcome"], data["on"], _version_matches(form))

    return _post(family_id, "triage", form, triage, {"outcome": form.outcome.data, "on": _iso(form.on.data)},
                 anchor="decisions", done=_("The triage is recorded; see the eligibility decision."))


@bp.post("/<municipality>/families/<int:family_id>/approve")
@requires(*STAFF)
def family_approve(family_id):
    form = ApproveForm(prefix="approve")

    def approve(raw):
        data = _loaded(S.ApprovalSchema(), raw)
        return families.approve(family_id, data.get("note"), _version_matches(form))

    return _post(family_id, "approve", form, approve, {"note": form.note.data or None},
                 anchor="screening", done=_("Your approval is recorded."))


@bp.post("/<municipality>/families/<int:family_id>/consents")
@requires(*STAFF)
def family_consent(family_id):
    form = ConsentForm(prefix="consent")
    form.purpose.choices = _vocab("consent_purpose", V.CONSENT_PURPOSES)

    def give(raw):
        return families.give_consent(family_id, _loaded(S.ConsentSchema(), raw), _version_matches(form))

    raw = {"purpose": form.purpose.data, "wording_version": form.wording_version.data,
           "given_on": _iso(form.given_on.data)}
    return _post(family_id, "consent", form, give, raw, anchor="consent", done=_("The consent is recorded."))


@bp.post("/<municipality>/families/<int:family_id>/consents/<int:consent_id>/withdraw")
@requires(*STAFF)
def family_consent_withdraw(family_id, consent_id):
    form = WithdrawForm(prefix="withdraw")

    def withdraw():
        return families.withdraw_consent(family_id, consent_id, date.today(), _version_matches(form))

    return _post(family_id, "withdraw", form, withdraw, anchor="consent", done=_("The consent is withdrawn."))


@bp.post("/<municipality>/families/<int:family_id>/contacts")
@requires(*STAFF)
def family_contact(family_id):
    form = ContactForm(prefix="contact")
    form.kind.choices = _vocab("contact_kind", V.CONTACT_KINDS)

    def log(raw):
        return families.log_contact(family_id, _loaded(S.ContactSchema(), raw))

    raw = {"kind": form.kind.data, "occurred_on": _iso(form.occurred_on.data),
           "duration_minutes": form.duration_minutes.data, "note": form.note.data or None}
    return _post(family_id, "contact", form, log, raw, anchor="contacts", done=_("The contact is logged."))


@bp.post("/<municipality>/families/<int:family_id>/decisions/<int:decision_id>/override")
@requires(*STAFF)
def family_override(family_id, decision_id):
    name = f"override-{decision_id}"
    form = OverrideForm(prefix=name)
    form.outcome.choices = _vocab("decision_outcome", V.DECISION_OUTCOMES)

    def override(raw):
        from core.lookup import get_child_or_404

        data = _loaded(S.OverrideSchema(), raw)
        decision = get_child_or_404(Decision, decision_id, family_id=family_id)
        return decision_cases.override(decision, data["outcome"], data["reason"])

    return _post(family_id, name, form, override, {"outcome": form.outcome.data, "reason": form.reason.data},
                 anchor="decisions", done=_("Your decision is recorded."))


@bp.post("/<municipality>/families/<int:family_id>/decisions/<int:decision_id>/confirm")
@requires(*STAFF)
def family_confirm(family_id, decision_id):
    form = PostForm()

    def confirm():
        from core.lookup import get_child_or_404

        return decision_cases.confirm(get_child_or_404(Decision, decision_id, family_id=family_id))

    return _post(family_id, "confirm", form, confirm, anchor="decisions", done=_("The override is confirmed."))


@bp.route("/<municipality>/families/<int:family_id>/intake", methods=["GET", "POST"])
@requires(*STAFF)
def family_intake(family_id):
    """The intake meeting of a family: its date and notes."""
    form = IntakeForm()
    if form.validate_on_submit():
        def intake(raw):
            data = _loaded(S.IntakeSchema(), raw)
            return families.record_intake(family_id, data["held_on"], data.get("notes"), _version_matches(form))

        try:
            attempt(form, intake, {"held_on": _iso(form.held_on.data), "notes": form.notes.data or None})
            flash(_("The intake is recorded."), "success")
            return redirect(url_for("web.family", family_id=family_id) + "#screening")
        except Refused:
            pass
    status = (_status_for(form) if request.method == "POST" else 200)
    found = families.read(family_id, "intake")
    if request.method == "GET":
        form.version.data = found.version
    html = render_template("families/intake.html", family=found, form=form)
    db.session.commit()
    return html, status

