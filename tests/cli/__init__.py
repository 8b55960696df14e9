"""Tests of feedback_app's cli (the layout mirrors feedback_app/)."""
