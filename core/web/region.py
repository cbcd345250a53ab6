"""A region's pages for its consortium admin: members side by side, the onboarding wizard."""
