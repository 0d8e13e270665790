"""Domain models, settings, errors and the composition root shared by every PolicyDesk package."""
