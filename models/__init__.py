"""parley's schema: SQLAlchemy 2.0 typed models. Importing this package registers every table."""

from models.article import Article
from models.base import Base
from models.feed import Feed, FeedFetch
from models.reference import Actor, Issue

__all__ = ["Actor", "Article", "Base", "Feed", "FeedFetch", "Issue"]
