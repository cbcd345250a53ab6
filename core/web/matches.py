"""Match suggestions, the match page and its lifecycle."""
