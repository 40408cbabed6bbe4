"""warmrun: turns the kilometres residents run into charity goods."""

__version__ = "0.1.0"
