"""Bureau: deploy and verify a sovereign collaboration suite on Debian."""

__version__ = "0.1.0"
