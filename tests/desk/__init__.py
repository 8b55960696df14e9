"""Tests of feedback_app's desk (the layout mirrors feedback_app/)."""
