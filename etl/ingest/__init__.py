"""Ingest: poll feeds politely and safely, read their entries and pages, store de-duplicated articles.

In the order of the work: :mod:`~etl.ingest.poll` (due feeds, one poll, the tick that stores polls
as they end) calls :mod:`~etl.ingest.fetch` (safe HTTP; :mod:`~etl.ingest.urls` says which URLs and
when two are one article), :mod:`~etl.ingest.parse` (feedparser), :mod:`~etl.ingest.entries` (an
entry to an article draft), :mod:`~etl.ingest.pages` (an article's page), :mod:`~etl.ingest.store`
(the locked COPY of new articles) and :mod:`~etl.ingest.records` (each poll's record and backoff).
"""
