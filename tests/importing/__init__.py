"""Tests of feedback_app.importing: the parsers of each source and the importer."""
