"""Knowledge documents: reading, splitting into citable passages, chunking, catalog, ingest."""
