"""Tests of feedback_app's services (the layout mirrors feedback_app/)."""
