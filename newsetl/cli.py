"""The `newsetl` command: its commands (`flow_commands`, `data_commands`) print through `rendering`; errors
become one `Error: …` line."""

from __future__ import annotations

from typing import Annotated

import typer

from newsetl.data_commands import annotate, db_check, db_upgrade, export, query, report, status
from newsetl.flow_commands import backfill, run, serve
from newsetl.rendering import stdout

app = typer.Typer(
    name="newsetl",
    help=(
        "Turn a folder of news articles into a database of entities and PLOVER events.\n\n"
        'Example: `newsetl run && newsetl query "SELECT event_type, count(*) AS n FROM events GROUP BY event_type"`'
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)

db_app = typer.Typer(
    help="Manage the database schema.\n\nExample: `newsetl db upgrade --db sqlite:///data/newsetl.db`",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _print_version(wanted: bool) -> None:
    if wanted:
        from etl import __version__

        stdout.print(f"newsetl {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print newsetl's version and exit."),
    ] = False,
) -> None:
    """newsetl's own options, before any command (`--version` is handled by its callback)."""


# In the order `newsetl --help` lists them.
for command in (run, backfill, serve, status, annotate, query, export, report):
    app.command()(command)
db_app.command("upgrade")(db_upgrade)
db_app.command("check")(db_check)
