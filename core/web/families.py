"""A requesting or supporting family: the list, registration, the family page, intake and triage."""
