"""Tests of feedback_app's readers (the layout mirrors feedback_app/)."""
