"""Open Data Watch: supervision, audit and compliance analytics for a public-data open platform."""

__version__ = "0.1.0"
