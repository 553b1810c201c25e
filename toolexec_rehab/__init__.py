"""toolexec-rehab: find and fix Go resource leaks at build time."""
__version__ = "0.1.0"
