"""Tests of feedback_app's mail (the layout mirrors feedback_app/)."""
