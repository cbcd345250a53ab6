"""The policy page of a municipality and the policy template of a region."""
