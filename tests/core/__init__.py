"""Tests of feedback_app's core (the layout mirrors feedback_app/)."""
