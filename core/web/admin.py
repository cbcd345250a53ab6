"""The tenant admin's pages: users and invitations, API tokens, programme targets, scheduled work."""
