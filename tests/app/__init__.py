"""Tests of the app as a whole: its factory, its servers, its layout and docs."""
