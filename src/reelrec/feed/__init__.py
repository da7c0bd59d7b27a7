"""Feed rules: re-pick a ranked top-k with a per-tag cap and exploration slots for few-view videos."""

from reelrec.feed.rules import FeedRules, apply_feed_rules, item_first_tags

__all__ = ["FeedRules", "apply_feed_rules", "item_first_tags"]
