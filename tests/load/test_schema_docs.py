import re
from pathlib import Path

from sqlalchemy import Engine, inspect

from etl.models import Base

SCHEMA_DOC = Path(__file__).parents[2] / "docs" / "schema.md"


def documented_columns() -> dict[str, list[str]]:
    """Each `## `table`` section of docs/schema.md with the columns its table lists."""
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in SCHEMA_DOC.read_text(encoding="utf-8").splitlines():
        if heading := re.fullmatch(r"## `(\w+)`", line):
            current = tables.setdefault(heading[1], [])
        elif line.startswith("## "):
            current = None
        elif current is not None and (row := re.match(r"\| `(\w+)` \|", line)):
            current.append(row[1])
    return tables


def test_schema_docs_list_every_table_view_and_column_in_order(engine: Engine) -> None:
    inspector = inspect(engine)
    views = {name: [column["name"] for column in inspector.get_columns(name)] for name in inspector.get_view_names()}
    tables = {name: table.columns.keys() for name, table in Base.metadata.tables.items()}
    assert documented_columns() == tables | views


def test_schema_docs_diagram_names_every_column() -> None:
    diagram = SCHEMA_DOC.read_text(encoding="utf-8").split("```mermaid", 1)[1].split("```", 1)[0]
    for name, table in Base.metadata.tables.items():
        block = re.search(rf"\n    {name} \{{\n(.*?)\n    \}}", diagram, re.DOTALL)
        assert block is not None, f"no entity for {name} in the ER diagram"
        assert [line.split()[1] for line in block[1].splitlines()] == table.columns.keys()
