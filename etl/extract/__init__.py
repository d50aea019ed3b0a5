"""Extract: claims from article text by the codebook (spaCy and the seeds' gazetteer).

The reading, in order: ``engine`` (the :class:`~etl.extract.engine.Extractor`: the spaCy pipeline with
the actors of ``gazetteer``, batches of articles, claims out) → ``values`` (issue values found by the
seeds' patterns, with ``numbers``) → ``linking`` (each value's actor and stance through the parse, by
``syntax``, ``actors`` and ``lexicon``; ``deal_terms`` for the terms of an agreed deal), over one
``article`` context. Around it: ``store`` (running it over stored articles, writing claims) and
``evaluate`` (``parley extract-file`` and ``parley eval``, no database).
"""
