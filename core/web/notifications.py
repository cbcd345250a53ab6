"""A user's notifications in a municipality."""
