"""Analysts: the read-only role over the documented views, and the offline HTML report."""
