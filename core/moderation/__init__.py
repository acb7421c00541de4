"""Moderation before money is spent: the prompt blocklist (`blocklist`), the normalised form it matches
in (`normalize.normalize`, not re-exported so the submodule stays reachable), and the regex safety check."""

from core.moderation.blocklist import (
    Blocklist,
    BlocklistError,
    Entry,
    Match,
    Verdict,
    load_file,
    parse_entry,
)

__all__ = [
    "Blocklist",
    "BlocklistError",
    "Entry",
    "Match",
    "Verdict",
    "load_file",
    "parse_entry",
]
