"""The package's version, in a module of its own so that any module can import it first."""

__version__ = "0.2.0"
