"""The funder portal: the exports a funder receives, and their files."""
