from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.types import MatchFacts, PlannedEvaluation
from core.programme.evaluation_plan import default_plan as platform_plan

PROPOSED = MatchFacts(id=1, state="proposed", proposed_on=date(2026, 1, 5))
TRIAL = MatchFacts(id=2, state="trial", proposed_on=date(2026, 1, 5), introduction_on=date(2026, 1, 12),
                   trial_on=date(2026, 1, 19), planned_end_on=date(2027, 1, 19))
ACTIVE = MatchFacts(id=3, state="active", proposed_on=date(2026, 1, 5), trial_on=date(2026, 1, 19),
                    active_on=date(2026, 3, 16), planned_end_on=date(2027, 3, 16))
EXTENDED = MatchFacts(id=4, state="active", proposed_on=date(2025, 6, 2), trial_on=date(2025, 6, 30),
                      active_on=date(2025, 8, 31), planned_end_on=date(2027, 8, 31), extensions=1)
ENDED = MatchFacts(id=5, state="ended", proposed_on=date(2025, 1, 6), trial_on=date(2025, 1, 20),
                   active_on=date(2025, 3, 17), planned_end_on=date(2026, 3, 17), ended_on=date(2026, 3, 17))


def planned(hook, match, **config):
    return hook({"evaluation_plan.standard": config}).koppel_evaluation_plan(match=match)


@pytest.mark.parametrize("match", [PROPOSED, TRIAL, ACTIVE, EXTENDED, ENDED], ids=lambda m: m.state + str(m.id))
def test_the_default_configuration_is_the_platforms_plan(hook, match):
    assert [(p.kind, p.moment, p.due_on) for p in planned(hook, match)] == platform_plan(match)


def test_an_active_match(hook):
    assert planned(hook, ACTIVE) == [
        PlannedEvaluation("trial_end", "start", date(2026, 3, 16)),
        PlannedEvaluation("periodic", "review", date(2026, 9, 16)),
        PlannedEvaluation("extension_decision", "review", date(2027, 2, 16)),
        PlannedEvaluation("end", "end", date(2027, 3, 16)),
    ]


def test_an_extended_match_counts_its_reviews_from_the_start_of_the_active_phase(hook):
    assert planned(hook, EXTENDED) == [
        PlannedEvaluation("trial_end", "start", date(2025, 8, 25)),
        PlannedEvaluation("periodic", "review", date(2026, 2, 28)),
        PlannedEvaluation("periodic", "review", date(2026, 8, 28)),
        PlannedEvaluation("periodic", "review", date(2027, 2, 28)),
        PlannedEvaluation("extension_decision", "review", date(2027, 8, 3)),
        PlannedEvaluation("end", "end", date(2027, 8, 31)),
    ]


def test_a_match_in_trial_or_ended_has_only_its_trial_end(hook):
    assert planned(hook, TRIAL) == [PlannedEvaluation("trial_end", "start", date(2026, 3, 16))]
    assert planned(hook, ENDED) == [PlannedEvaluation("trial_end", "start", date(2025, 3, 17))]


def test_a_proposed_match_has_nothing_due_yet(hook):
    assert planned(hook, PROPOSED) == []


def test_a_review_on_the_day_of_the_extension_decision_is_left_out(hook):
    match = MatchFacts(id=6, state="active", proposed_on=date(2026, 1, 5), trial_on=date(2026, 1, 5),
                       active_on=date(2026, 3, 2), planned_end_on=date(2026, 10, 2))
    # six months after 2 March is 2 September, the very day of the extension decision
    assert planned(hook, match, extension_notice_weeks=0) == [
        PlannedEvaluation("trial_end", "start", date(2026, 3, 2)),
        PlannedEvaluation("periodic", "review", date(2026, 9, 2)),
        PlannedEvaluation("extension_decision", "review", date(2026, 10, 2)),
        PlannedEvaluation("end", "end", date(2026, 10, 2)),
    ]
    assert planned(hook, match, extension_notice_weeks=0, interval_months=7)[1:] == [
        PlannedEvaluation("extension_decision", "review", date(2026, 10, 2)),
        PlannedEvaluation("end", "end", date(2026, 10, 2)),
    ]
    assert [(p.kind, p.due_on) for p in planned(hook, match)] == [  # two days before the decision: kept
        ("trial_end", date(2026, 3, 2)), ("periodic", date(2026, 9, 2)), ("extension_decision", date(2026, 9, 4)),
        ("end", date(2026, 10, 2))]


def test_configured_trial_interval_and_notice(hook):
    assert planned(hook, ACTIVE, trial_weeks=6, interval_months=3, extension_notice_weeks=6) == [
        PlannedEvaluation("trial_end", "start", date(2026, 3, 2)),
        PlannedEvaluation("periodic", "review", date(2026, 6, 16)),
        PlannedEvaluation("periodic", "review", date(2026, 9, 16)),
        PlannedEvaluation("periodic", "review", date(2026, 12, 16)),
        PlannedEvaluation("extension_decision", "review", date(2027, 2, 2)),
        PlannedEvaluation("end", "end", date(2027, 3, 16)),
    ]


def test_an_active_match_without_a_planned_end_has_only_its_trial_end(hook):
    match = MatchFacts(id=7, state="active", proposed_on=date(2026, 1, 5), trial_on=date(2026, 1, 19),
                       active_on=date(2026, 3, 16))
    assert planned(hook, match) == [PlannedEvaluation("trial_end", "start", date(2026, 3, 16))]
    assert platform_plan(match) == [("trial_end", "start", date(2026, 3, 16))]


@pytest.mark.parametrize(("config", "field"), [
    ({"trial_weeks": 0}, "trial_weeks"),
    ({"trial_weeks": 53}, "trial_weeks"),
    ({"trial_weeks": 2.5}, "trial_weeks"),
    ({"interval_months": 0}, "interval_months"),
    ({"interval_months": 25}, "interval_months"),
    ({"extension_notice_weeks": -1}, "extension_notice_weeks"),
    ({"extension_notice_weeks": 27}, "extension_notice_weeks"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as raised:
        hook({"evaluation_plan.standard": config})
    assert field in raised.value.messages
