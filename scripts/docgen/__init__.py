"""Generators of the docs' reference pages (scripts/make_docs.py writes them;
tests/test_docs_generated.py checks they are up to date)."""
