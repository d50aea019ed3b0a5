"""Extract: claims from article text by the codebook (spaCy and the seeds' gazetteer)."""
