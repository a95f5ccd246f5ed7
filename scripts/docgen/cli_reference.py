"""docs/reference/cli.md from the `aekit` command's own help, so it cannot drift."""

from __future__ import annotations

import click

# A fixed width: the page must not depend on the terminal that regenerates it.
WIDTH = 100


def _help(command: click.Command, name: str, parent: click.Context | None) -> str:
    # The command's own context settings (`-h` as well as `--help`), as when it runs.
    settings = {"terminal_width": WIDTH, "max_content_width": WIDTH, **command.context_settings}
    ctx = click.Context(command, info_name=name, parent=parent, **settings)
    return command.get_help(ctx)


def cli_reference() -> str:
    from aekit.cli.main import cli

    root = click.Context(cli, info_name="aekit", terminal_width=WIDTH, max_content_width=WIDTH, **cli.context_settings)
    out = ["# Command-line reference", "",
           "Generated from the `aekit` command's own `--help` by `python scripts/make_docs.py`; do not edit by hand.",
           "", "```text", _help(cli, "aekit", None), "```", ""]
    for name in sorted(cli.list_commands(root)):
        command = cli.get_command(root, name)
        out += [f"## aekit {name}", "", "```text", _help(command, name, root), "```", ""]
    return "\n".join(out)
