"""The platform admin's pages: consortia, municipalities, installed plugins."""
