"""Accounts and access: users, memberships, sessions, API tokens, permission checks."""
