"""Policy: pluggy plugins that decide, per municipality, with versioned configuration."""
