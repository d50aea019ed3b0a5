"""parley's schema: SQLAlchemy 2.0 typed models. Importing this package registers every table."""

from models.article import Article
from models.base import Base
from models.claim import ArticleExtraction, Claim, ExtractionProgress, Mention
from models.correction import ClaimCorrection
from models.feed import Feed, FeedFetch
from models.lock import PipelineLock
from models.position import Alert, Position, PositionChange, PositionSupport
from models.reference import Actor, Issue, Negotiation

__all__ = [
    "Actor",
    "Alert",
    "Article",
    "ArticleExtraction",
    "Base",
    "Claim",
    "ClaimCorrection",
    "ExtractionProgress",
    "Feed",
    "FeedFetch",
    "Issue",
    "Mention",
    "Negotiation",
    "PipelineLock",
    "Position",
    "PositionChange",
    "PositionSupport",
]
