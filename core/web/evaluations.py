"""Completing an evaluation of a match."""
