"""Caller emotion: cue rules, the trained classifier, call-level mood and soothing scripts."""
