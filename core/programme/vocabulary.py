"""The coded values of the programme, in one place (codes in English, labels translated)."""

REQUESTING, SUPPORTING = "requesting", "supporting"
FAMILY_KINDS = (REQUESTING, SUPPORTING)

# Family status; each kind uses the ones that apply to it (see services.families.TRANSITIONS).
REGISTERED, INTAKE, SCREENING, WAITING, AVAILABLE, MATCHED, PAUSED, CLOSED = (
    "registered", "intake", "screening", "waiting", "available", "matched", "paused", "closed")
FAMILY_STATUSES = (REGISTERED, INTAKE, SCREENING, WAITING, AVAILABLE, MATCHED, PAUSED, CLOSED)

REFERRAL_SOURCES = ("cjg", "social_team", "jgz", "gp", "school", "self", "other")

SUPPORT_KINDS = ("day_part_care", "weekend_stay", "after_school_care", "practical_help", "parent_buddy")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PARTS = ("morning", "afternoon", "evening")

PROBLEM_AREAS = (
    "overload", "single_parent_several_children", "child_adhd_or_disability", "kopp", "kov",
    "poverty", "newcomer", "isolation",
)

TRIAGE_OUTCOMES = ("fits", "too_heavy_referred", "declined_by_family")

MEMBER_ROLES = ("adult", "child")

DECISION_KINDS = ("eligibility", "screening")
POLICY, OVERRIDE, HISTORICAL = "policy", "override", "historical"
DECISION_SOURCES = (POLICY, OVERRIDE, HISTORICAL)
DECISION_OUTCOMES = ("eligible", "not_eligible", "passed", "failed", "needs_coordinator")
FINDING_RESULTS = ("met", "not_met", "pass", "fail", "missing", "error")

# Matches (koppelingen)
PROPOSED, INTRODUCTION, TRIAL, ACTIVE, ENDED, CANCELLED = (
    "proposed", "introduction", "trial", "active", "ended", "cancelled")
MATCH_STATES = (PROPOSED, INTRODUCTION, TRIAL, ACTIVE, ENDED, CANCELLED)
OPEN_MATCH_STATES = (PROPOSED, INTRODUCTION, TRIAL, ACTIVE)
ENGAGED_MATCH_STATES = (INTRODUCTION, TRIAL, ACTIVE)  # the families have met: neither waits any more
RUNNING_MATCH_STATES = (TRIAL, ACTIVE)

END_REASONS = (
    "goals_reached", "requesting_family_declined", "supporting_family_stopped", "mismatch",
    "escalated_to_professional_care", "moved", "consent_withdrawn", "other",
)
OUTCOMES = ("no_further_care", "lighter_support", "professional_youth_care", "out_of_home_placement", "unknown")

# Evaluations
EVALUATION_KINDS = ("trial_end", "periodic", "extension_decision", "end")
EVALUATION_MOMENTS = ("start", "review", "end")
EVALUATION_DECISIONS = ("continue", "adjust", "end")
WELLBEING_SCALES = ("parenting", "parent_wellbeing", "children_wellbeing", "family_management")

FREQUENCIES = ("weekly", "fortnightly", "monthly")
SESSIONS_PER_WEEK = {"weekly": 1.0, "fortnightly": 0.5, "monthly": 12 / 52}

CONTACT_KINDS = ("visit", "phone", "email", "meeting", "support_session")

CONSENT_PURPOSES = ("processing", "share_with_referrer", "evaluation_contact")
