"""Ingest: poll feeds politely and safely, read their entries and pages, store de-duplicated articles."""
