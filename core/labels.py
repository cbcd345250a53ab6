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
    "contact_kind": {"visit": N_("home visit"), "phone": N_("phone call"), "email": N_("e-mail"),
                     "meeting": N_("meeting"), "support_session": N_("support session")},
    "evaluation_kind": {"trial_end": N_("end of the trial period"), "periodic": N_("periodic"),
                        "extension_decision": N_("extension decision"), "end": N_("end")},
    "object": {
        "family": N_("family"), "member": N_("household member"), "match": N_("match"), "decision": N_("decision"),
        "consent": N_("consent"), "evaluation": N_("evaluation"), "duplicate_flag": N_("possible duplicate"),
        "contact": N_("contact"), "programme_target": N_("target"), "policy_version": N_("policy version"),
    },
    "match_step": {"proposed": N_("be proposed"), "active": N_("become active"), "proceed": N_("go ahead")},
    # Vocabularies that the built-in plugins name in their texts.
    "household_type": {"single_adult": N_("a single adult"), "single_parent": N_("a single parent"),
                       "couple": N_("a household of two or more adults")},
    "availability": {  # a moment a family asks for or offers (matching.availability)
        "mon_morning": N_("Monday morning"), "mon_afternoon": N_("Monday afternoon"),
        "mon_evening": N_("Monday evening"),
        "tue_morning": N_("Tuesday morning"), "tue_afternoon": N_("Tuesday afternoon"),
        "tue_evening": N_("Tuesday evening"),
        "wed_morning": N_("Wednesday morning"), "wed_afternoon": N_("Wednesday afternoon"),
        "wed_evening": N_("Wednesday evening"),
        "thu_morning": N_("Thursday morning"), "thu_afternoon": N_("Thursday afternoon"),
        "thu_evening": N_("Thursday evening"),
        "fri_morning": N_("Friday morning"), "fri_afternoon": N_("Friday afternoon"),
        "fri_evening": N_("Friday evening"),
        "sat_morning": N_("Saturday morning"), "sat_afternoon": N_("Saturday afternoon"),
        "sat_evening": N_("Saturday evening"),
        "sun_morning": N_("Sunday morning"), "sun_afternoon": N_("Sunday afternoon"),
        "sun_evening": N_("Sunday evening"),
        "weekends": N_("weekends"), "overnight": N_("an overnight stay"),
    },
    "language": {  # ISO 639-1 codes of the languages a family speaks (matching.language)
        "nl": N_("Dutch"), "fy": N_("Frisian"), "en": N_("English"), "de": N_("German"), "fr": N_("French"),
        "es": N_("Spanish"), "pt": N_("Portuguese"), "it": N_("Italian"), "pl": N_("Polish"),
        "ro": N_("Romanian"), "bg": N_("Bulgarian"), "uk": N_("Ukrainian"), "ru": N_("Russian"),
        "tr": N_("Turkish"), "ar": N_("Arabic"), "fa": N_("Persian"), "ps": N_("Pashto"), "ku": N_("Kurdish"),
        "ti": N_("Tigrinya"), "am": N_("Amharic"), "so": N_("Somali"), "zh": N_("Chinese"), "hi": N_("Hindi"),
        "ur": N_("Urdu"),
    },
}
