"""The harness's version: one place, read by the facade, the Result and the reports."""

__all__ = ["__version__"]

__version__ = "0.1.0"
