"""The pages of matching: suggestions and proposing (with an override), the match list and page with the
lifecycle's steps, evaluations, notifications; on SQLite and PostgreSQL. Another municipality's ids are 404,
a refused step is a 4xx with its reason, a stale form says that someone else changed the match."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.auth import roles as R
from core.extensions import db
from core.programme import schemas as S
from core.programme.models import Contact, Evaluation, Match
from core.scheduling.models import Notification
from core.usecases import families as family_cases
from core.usecases import matches as match_cases
from tenants.context import tenant_scope

from tests.conftest import OPEN_POLICY, enable_policy
from tests.queries import count_statements

#: OPEN_POLICY with a matching plugin (suggestions), the match terms and the two outcome instruments.
POLICY = {**OPEN_POLICY, "matching.capacity": {}, "match_terms.standard": {}, "outcome.wellbeing": {},
          "outcome.satisfaction": {}}
STALE = "Iemand anders heeft dit intussen gewijzigd"


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def ready_families(app, world, *, vog: bool = True, slug: str = "aalten", policy=None,
                   enable: bool = True) -> tuple[int, int]:
    """A waiting requesting family and an available supporting family (screened: with a VOG when *vog*),
    made through the use cases under *policy* (default POLICY)."""
    tenant = world.ids[slug]
    start = date.today() - timedelta(days=30)
    with app.app_context(), tenant_scope(tenant):
        if enable:
            enable_policy(tenant, POLICY if policy is None else policy)
        consents = tuple((p, "2026-01", start) for p in ("processing", "evaluation_contact"))
        requesting = family_cases.register(S.FamilyCreateSchema().load({
            "kind": "requesting", "display_name": "Familie Visser", "registered_on": start.isoformat(),
            "problem_areas": ["overload"],
            "members": [{"role": "adult", "first_name": "Ria"},
                        {"role": "child", "first_name": "Tim", "date_of_birth": "2019-04-01"}]}), consents=consents)
        family_cases.change_status(requesting.id, "waiting", None, None)
        supporting = family_cases.register(S.FamilyCreateSchema().load({
            "kind": "supporting", "display_name": "Familie Mulder", "registered_on": start.isoformat(),
            "capacity_children": 2, "capacity_age_min": 0, "capacity_age_max": 14,
            "members": [{"role": "adult", "first_name": "Kees",
                         **({"vog_issued_on": start.isoformat()} if vog else {})}]}), consents=consents)
        family_cases.change_status(supporting.id, "screening", None, None)
        family_cases.change_status(supporting.id, "available", None, None)
        db.session.commit()
        return requesting.id, supporting.id


def make_matches(app, world, count: int) -> None:
    """*count* more proposed matches in Aalten (through the services, fast)."""
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        enable_policy(world.ids["aalten"], POLICY)
        for _ in range(count):
            requesting, supporting = ready_families(app, world, enable=False)
            match_cases.propose(S.MatchProposeSchema().load(
                {"requesting_family_id": requesting, "supporting_family_id": supporting}))
            db.session.commit()


def coordinator(client, world):
    assert world.login(client, world.users[R.COORDINATOR]).status_code == 302
    return client


def match_version(app, world, match_id: int) -> int:
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        return db.session.get(Match, match_id).version


# ----------------------------------------------------------------------------- suggestions and proposing

def test_suggestions_rank_the_supporting_family_and_a_proposal_makes_the_match(app, world, client):
    requesting, supporting = ready_families(app, world)
    coordinator(client, world)
    page = client.get(f"/aalten/families/{requesting}/suggestions")
    assert page.status_code == 200
    text = text_of(page)
    assert "Familie Mulder" in text and "Koppeling voorstellen" in text
    response = client.post(f"/aalten/families/{requesting}/suggestions",
                           data={"supporting_family_id": supporting, "children": 1})
    assert response.status_code == 302
    match_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        match = db.session.get(Match, match_id)
        assert (match.requesting_family_id, match.supporting_family_id, match.state) == (
            requesting, supporting, "proposed")
    assert "De koppeling is voorgesteld" in text_of(client.get(response.headers["Location"]))


def test_a_rule_that_fails_is_named_and_the_override_needs_a_reason(app, world, client):
    requesting, supporting = ready_families(app, world, vog=False)
    coordinator(client, world)
    url = f"/aalten/families/{requesting}/suggestions"
    refused = client.post(url, data={"supporting_family_id": supporting, "children": 1})
    assert refused.status_code == 409
    text = text_of(refused)
    assert "De regels laten deze koppeling nog niet toe" in text
    assert "VOG van alle volwassenen" in text  # the rule, by its title
    assert 'name="override_reason"' in refused.get_data(as_text=True)
    # too short a reason: the rules stay on the page, and the reason is named
    short = client.post(url, data={"supporting_family_id": supporting, "children": 1, "override_reason": "ok"})
    assert short.status_code == 409
    assert "VOG van alle volwassenen" in text_of(short) and 'href="#override_reason"' in short.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.scalar(select(func.count()).select_from(Match).where(
            Match.supporting_family_id == supporting)) == 0
    done = client.post(url, data={"supporting_family_id": supporting, "children": 1,
                                  "override_reason": "De VOG is aangevraagd en de gezinnen kennen elkaar al lang."})
    assert done.status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        match = db.session.scalars(select(Match).where(Match.supporting_family_id == supporting)).one()
        assert [o.step for o in match.overrides] == ["proposed"]


def test_proposing_without_a_family_or_with_too_many_children_is_refused(app, world, client):
    requesting, supporting = ready_families(app, world)
    coordinator(client, world)
    url = f"/aalten/families/{requesting}/suggestions"
    assert client.post(url, data={"children": 1}).status_code == 422
    assert client.post(url, data={"supporting_family_id": supporting, "children": 11}).status_code == 422
    no_room = client.post(url, data={"supporting_family_id": supporting, "children": 3})
    assert no_room.status_code == 409 and "2" in text_of(no_room)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.scalar(select(func.count()).select_from(Match).where(
            Match.supporting_family_id == supporting)) == 0


def test_without_a_matching_plugin_the_page_says_so_and_offers_the_other_families(app, world, client):
    requesting, _ = ready_families(app, world, policy=OPEN_POLICY)
    coordinator(client, world)
    page = client.get(f"/aalten/families/{requesting}/suggestions")
    assert page.status_code == 200
    assert "Geen suggesties" in text_of(page) and "Familie Mulder" in text_of(page)


# ----------------------------------------------------------------------------- the match page and its steps

def test_the_match_moves_through_its_lifecycle_on_its_page(app, world, client):
    requesting, supporting = ready_families(app, world)
    coordinator(client, world)
    response = client.post(f"/aalten/families/{requesting}/suggestions",
                           data={"supporting_family_id": supporting, "children": 1})
    url = response.headers["Location"]
    match_id = int(url.rstrip("/").split("/")[-1])
    page = client.get(url)
    assert page.status_code == 200 and "Kennismaking vastleggen" in text_of(page)
    for action in ("introduce", "start-trial"):
        prefix = action.replace("-", "_")
        answer = client.post(f"{url}/{action}", data={f"{prefix}-version": match_version(app, world, match_id)})
        assert answer.status_code == 302, text_of(answer)[:2000]
    # the agreement's terms are the policy's: weekly or fortnightly, at most 8 hours
    too_long = client.post(f"{url}/activate", data={
        "activate-version": match_version(app, world, match_id), "activate-agreement": "Woensdagmiddag",
        "activate-frequency": "weekly", "activate-hours_per_session": "9,5"})
    assert too_long.status_code == 422 and 'href="#activate-hours_per_session"' in too_long.get_data(as_text=True)
    active = client.post(f"{url}/activate", data={
        "activate-version": match_version(app, world, match_id), "activate-agreement": "Woensdagmiddag",
        "activate-frequency": "fortnightly", "activate-hours_per_session": "3,5"})
    assert active.status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        match = db.session.get(Match, match_id)
        assert (match.state, match.frequency, match.hours_per_session, match.agreement) == (
            "active", "fortnightly", 3.5, "Woensdagmiddag")
        planned_end = match.planned_end_on
    extended = client.post(f"{url}/extend", data={
        "extend-version": match_version(app, world, match_id), "extend-new_end_on": (planned_end + timedelta(days=30)).isoformat(),
        "extend-both_families_agree": "y"})
    assert extended.status_code == 302
    contact = client.post(f"{url}/contacts", data={"contact-kind": "support_session",
                                                   "contact-occurred_on": date.today().isoformat(),
                                                   "contact-duration_minutes": 90})
    assert contact.status_code == 302
    ended = client.post(f"{url}/end", data={"end-version": match_version(app, world, match_id),
                                            "end-end_reason": "goals_reached", "end-outcome": "no_further_care"})
    assert ended.status_code == 302
    page = text_of(client.get(url))
    assert "beëindigd" in page and "Doelen bereikt" in page.replace("doelen bereikt", "Doelen bereikt")
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.scalar(select(func.sum(Contact.duration_minutes)).where(Contact.match_id == match_id)) == 90


def test_a_refused_step_is_409_with_its_reason_and_changes_nothing(app, world, client):
    match_id = world.records["aalten"]["match"]  # in its trial period
    coordinator(client, world)
    version = match_version(app, world, match_id)
    refused = client.post(f"/aalten/matches/{match_id}/introduce", data={"introduce-version": version})
    assert refused.status_code == 409
    assert "kan niet naar" in text_of(refused) or "cannot move" in text_of(refused)
    assert 'id="error-summary"' in refused.get_data(as_text=True)
    end_without_reason = client.post(f"/aalten/matches/{match_id}/end", data={"end-version": version})
    assert end_without_reason.status_code == 422 and 'href="#end-end_reason"' in end_without_reason.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        match = db.session.get(Match, match_id)
        assert (match.state, match.version) == ("trial", version)


def test_a_stale_form_says_someone_else_changed_the_match(app, world, client):
    match_id = world.records["aalten"]["match"]
    coordinator(client, world)
    version = match_version(app, world, match_id)
    stale = client.post(f"/aalten/matches/{match_id}/end", data={"end-version": version - 1 if version > 1 else 999,
                                                                 "end-end_reason": "mismatch"})
    assert stale.status_code == 409 and STALE in text_of(stale)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.get(Match, match_id).state == "trial"


def test_bad_contact_input_is_named_and_nothing_is_written(app, world, client):
    match_id = world.records["aalten"]["match"]
    coordinator(client, world)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        before = db.session.scalar(select(func.count()).select_from(Contact))
    future = (date.today() + timedelta(days=3)).isoformat()
    response = client.post(f"/aalten/matches/{match_id}/contacts", data={
        "contact-kind": "phone", "contact-occurred_on": future, "contact-duration_minutes": 10})
    assert response.status_code == 422 and 'href="#contact-occurred_on"' in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.scalar(select(func.count()).select_from(Contact)) == before


def test_the_list_filters_by_state_and_pages(app, world, client, monkeypatch):
    from core.web import matches as pages

    make_matches(app, world, 2)
    coordinator(client, world)
    listed = text_of(client.get("/aalten/matches"))
    assert listed.count("Koppeling ") >= 3
    trial = text_of(client.get("/aalten/matches?state=trial"))
    assert f"Koppeling {world.records['aalten']['match']}" in trial and "Familie Visser" not in trial
    assert client.get("/aalten/matches?state=nonsense").status_code == 422
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = client.get("/aalten/matches")
    next_link = re.search(r'href="([^"]*cursor=[^"]*)"', first.get_data(as_text=True))
    assert next_link
    second = client.get(html.unescape(next_link.group(1)))
    assert second.status_code == 200 and f"Koppeling {world.records['aalten']['match']}" in text_of(second)
    assert client.get("/aalten/matches?cursor=forged").status_code == 422


# ----------------------------------------------------------------------------- evaluations

def test_an_evaluation_is_completed_from_the_instrument_and_then_read_only(app, world, client):
    with app.app_context():
        enable_policy(world.ids["aalten"], POLICY)
    evaluation_id = world.records["aalten"]["evaluation"]
    coordinator(client, world)
    url = f"/aalten/evaluations/{evaluation_id}"
    form = client.get(url)
    assert form.status_code == 200
    text = text_of(form)
    assert "Hoe gaat het opvoeden?" in text and "Grote zorgen" in text and "Zeer tevreden" in text
    missing = client.post(url, data={"parenting": 3})
    assert missing.status_code == 422 and 'href="#decision"' in missing.get_data(as_text=True)
    done = client.post(url, data={"parenting": 3, "parent_wellbeing": 2, "children_wellbeing": 4,
                                  "family_management": 3, "satisfaction_requesting": 5, "decision": "continue"})
    assert done.status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        evaluation = db.session.get(Evaluation, evaluation_id)
        assert (evaluation.parenting, evaluation.satisfaction_requesting, evaluation.decision) == (3, 5, "continue")
    shown = client.get(url)
    assert shown.status_code == 200 and 'name="decision"' not in shown.get_data(as_text=True)
    again = client.post(url, data={"decision": "end"})
    assert again.status_code == 409
    match_page = client.get(f"/aalten/matches/{world.records['aalten']['match']}")
    assert "<svg" in match_page.get_data(as_text=True) and "Welzijn over de tijd" in text_of(match_page)


# ----------------------------------------------------------------------------- notifications

def test_notifications_unread_first_and_marked_read(app, world, client):
    from core.auth.models import User
    from core.messages import Message
    from core import notifications

    match_id = world.records["aalten"]["match"]
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        me = db.session.scalar(select(User.id).where(User.email == world.users[R.COORDINATOR]))
        notifications.notify([me], "example", "web-test", Message("Evaluation due: %(kind)s of match %(match)s, on %(date)s.",
                             {"kind": "x", "match": match_id, "date": date.today()}, code="evaluation_due"),
                             subject_type="match", subject_id=match_id)
        db.session.commit()
        mine = db.session.scalars(select(Notification).where(Notification.key == "web-test")).one()
    coordinator(client, world)
    page = client.get("/aalten/notifications")
    assert page.status_code == 200
    assert f'href="/aalten/matches/{match_id}"' in page.get_data(as_text=True)
    assert client.post(f"/aalten/notifications/{mine.id}/read").status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.get(Notification, mine.id).read_at is not None
    assert client.post("/aalten/notifications/read-all").status_code == 302
    # somebody else's notification stays as it is
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        anna = db.session.scalar(select(User.id).where(User.email == world.users["person"]))
        notifications.notify([anna], "example", "web-test-anna", Message("Evaluation due: %(kind)s of match %(match)s, "
                             "on %(date)s.", {"kind": "x", "match": match_id, "date": date.today()}, code="evaluation_due"))
        db.session.commit()
        other = db.session.scalar(select(Notification.id).where(Notification.key == "web-test-anna"))
    assert client.post(f"/aalten/notifications/{other}/read").status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.get(Notification, other).read_at is None
    assert f"/aalten/notifications/{other}/" not in client.get("/aalten/notifications").get_data(as_text=True)


# ----------------------------------------------------------------------------- tenancy

def test_another_municipalitys_ids_are_not_found(app, world, client):
    druten = world.records["druten"]
    coordinator(client, world)
    for path in (f"/aalten/matches/{druten['match']}", f"/aalten/evaluations/{druten['evaluation']}",
                 f"/aalten/families/{druten['family']}/suggestions"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/aalten/matches/{druten['match']}/end", data={"end-end_reason": "mismatch"}).status_code == 404
    # and Druten itself is not this coordinator's
    assert client.get("/druten/matches").status_code == 404


# ----------------------------------------------------------------------------- no N+1

def _statements(app, client, path: str) -> int:
    with app.app_context():
        engine = db.engine
    with count_statements(engine) as seen:
        assert client.get(path).status_code == 200
    return len(seen)


def test_the_match_list_and_page_do_not_grow_with_the_rows(app, world, client):
    coordinator(client, world)
    match_id = world.records["aalten"]["match"]
    small_list = _statements(app, client, "/aalten/matches")
    small_page = _statements(app, client, f"/aalten/matches/{match_id}")
    make_matches(app, world, 4)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        for day in range(5):
            match_cases.log_contact(match_id, {"kind": "phone", "occurred_on": date.today() - timedelta(days=day),
                                               "duration_minutes": 5, "note": None})
        db.session.commit()
    assert _statements(app, client, "/aalten/matches") == small_list
    assert _statements(app, client, f"/aalten/matches/{match_id}") == small_page
