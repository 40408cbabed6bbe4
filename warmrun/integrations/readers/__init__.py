"""Track readers: GPX, TCX, FIT and zip/gzip archives of them, chosen by content sniffing."""

from warmrun.integrations.readers.registry import ParsedFile, read_any, read_track, sniff

__all__ = ["ParsedFile", "read_any", "read_track", "sniff"]
