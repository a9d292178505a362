"""The command-line options several `newsetl` commands share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $NEWSETL_DB_URL or sqlite:///data/newsetl.db).",
        show_default=False,
    ),
]
InputOption = Annotated[
    Path | None,
    typer.Option(
        "--input",
        help="Folder of articles (default: $NEWSETL_INPUT_DIR or seeds/articles).",
        show_default=False,
    ),
]
SinceOption = Annotated[
    datetime | None, typer.Option(help="First publication date (YYYY-MM-DD).", formats=["%Y-%m-%d"])
]
UntilOption = Annotated[datetime | None, typer.Option(help="Last publication date (YYYY-MM-DD).", formats=["%Y-%m-%d"])]
