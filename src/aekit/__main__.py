"""`python -m aekit ...` (what torchrun launches) is the `aekit` command."""

from aekit.cli.main import main

if __name__ == "__main__":
    main()
