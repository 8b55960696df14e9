"""Tests of feedback_app.importing (the layout mirrors feedback_app/)."""
