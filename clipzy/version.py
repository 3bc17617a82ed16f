"""The service's version (one home: the package, the CLI and /health read it here)."""
__version__ = "0.1.0"
