"""The public registration form of a municipality (no login)."""
