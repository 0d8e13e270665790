"""Embedding, indexing and hybrid retrieval of knowledge passages."""
