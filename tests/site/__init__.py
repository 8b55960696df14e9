"""Tests of feedback_app's site (the layout mirrors feedback_app/)."""
