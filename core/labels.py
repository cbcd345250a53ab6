"""The words people read for Koppel's coded values (English source; Dutch in the catalogue).

A code such as ``child_adhd_or_disability`` is for programs; a person reads
its label. ``N_`` only marks a text for extraction into the catalogue;
:func:`core.messages.label` translates it when it is shown.
"""
from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - gettext's own name for "mark for translation"
    return text


LABELS: dict[str, dict[str, str]] = {
    "family_kind": {"requesting": N_("requesting family"), "supporting": N_("supporting family")},
    "family_status": {
        "registered": N_("registered"), "intake": N_("intake"), "screening": N_("screening"),
        "waiting": N_("waiting"), "available": N_("available"), "matched": N_("matched"), "paused": N_("paused"),
        "closed": N_("closed"),
    },
    "problem_area": {
        "overload": N_("overburdened parents"),
        "single_parent_several_children": N_("single parent with several children"),
        "child_adhd_or_disability": N_("a child with ADHD or a disability"),
        "kopp": N_("a parent with a mental illness (KOPP)"),
        "kov": N_("a parent with an addiction (KOV)"),
        "poverty": N_("poverty"), "newcomer": N_("newcomer"), "isolation": N_("social isolation"),
    },
    "triage_outcome": {
        "fits": N_("fits the programme"), "too_heavy_referred": N_("too heavy, referred"),
        "declined_by_family": N_("declined by the family"),
    },
    "end_reason": {
        "goals_reached": N_("goals reached"), "requesting_family_declined": N_("requesting family declined"),
        "supporting_family_stopped": N_("supporting family stopped"), "mismatch": N_("the families did not match"),
        "escalated_to_professional_care": N_("escalated to professional care"), "moved": N_("moved"),
        "consent_withdrawn": N_("consent withdrawn"), "other": N_("other reason"),
    },
    "outcome": {
        "no_further_care": N_("no further care needed"), "lighter_support": N_("lighter support"),
        "professional_youth_care": N_("professional youth care"),
        "out_of_home_placement": N_("out-of-home placement"), "unknown": N_("unknown"),
    },
    "match_state": {
        "proposed": N_("proposed"), "introduction": N_("introduction"), "trial": N_("trial period"),
        "active": N_("active"), "ended": N_("ended"), "cancelled": N_("cancelled"),
    },
    "support_kind": {
        "day_part_care": N_("care for a day part"), "weekend_stay": N_("weekend stay"),
        "after_school_care": N_("after-school care"), "practical_help": N_("practical help"),
        "parent_buddy": N_("a buddy for the parent"),
    },
    "referral_source": {
        "cjg": N_("youth and family centre (CJG)"), "social_team": N_("social team"),
        "jgz": N_("youth health care (JGZ)"), "gp": N_("general practitioner"), "school": N_("school"),
        "self": N_("the family itself"), "other": N_("other"),
    },
    "consent_purpose": {
        "processing": N_("processing of the family's data"),
        "share_with_referrer": N_("sharing with the referrer"),
        "evaluation_contact": N_("contact for evaluations"),
    },
    "decision_kind": {"eligibility": N_("eligibility"), "screening": N_("screening")},
    "decision_outcome": {
        "eligible": N_("eligible"), "not_eligible": N_("not eligible"), "passed": N_("passed"),
        "failed": N_("failed"), "needs_coordinator": N_("a coordinator decides"),
    },
    "finding_result": {
        "met": N_("met"), "not_met": N_("not met"), "pass": N_("passed"), "fail": N_("failed"),
        "missing": N_("missing"), "error": N_("error"),
    },
    "weekday": {
        "mon": N_("Monday"), "tue": N_("Tuesday"), "wed": N_("Wednesday"), "thu": N_("Thursday"),
        "fri": N_("Friday"), "sat": N_("Saturday"), "sun": N_("Sunday"),
    },
    "day_part": {"morning": N_("morning"), "afternoon": N_("afternoon"), "evening": N_("evening")},
    "frequency": {"weekly": N_("every week"), "fortnightly": N_("every two weeks"), "monthly": N_("every month")},
    "member_role": {"adult": N_("adult"), "child": N_("child")},
    "match_step": {"proposed": N_("be proposed"), "active": N_("become active"), "proceed": N_("go ahead")},
    # Vocabularies that the built-in plugins name in their texts.
    "household_type": {"single_adult": N_("a single adult"), "single_parent": N_("a single parent"),
                       "couple": N_("a household of two or more adults")},
}
