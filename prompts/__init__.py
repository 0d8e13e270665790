"""Prompts and the compliance guard every suggestion passes before an agent sees it."""
