"""The bulk import: upload, dry run, and the progress of the background job."""
