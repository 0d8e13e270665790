"""The learned half of the compliance guard: labelled agent replies, sentence judge, training."""
