"""The `aekit` command: thin; parses, calls the Python API, prints."""
