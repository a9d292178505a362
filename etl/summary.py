"""What a run did, as Markdown: the Prefect artifact and the CLI's closing summary share it."""

from etl.records import RunCounts


def run_summary_markdown(flow: str, run_id: int, counts: RunCounts) -> str:
    rows = [
        ("files loaded", counts.loaded),
        ("files skipped (unchanged)", counts.skipped),
        ("files duplicate", counts.duplicate),
        ("files rejected", counts.rejected),
        ("files deleted (gone from the input folder)", counts.deleted),
        ("articles loaded", counts.articles),
        ("mentions", counts.mentions),
        ("events", counts.events),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"# newsetl {flow} run {run_id}\n\n| what | count |\n| --- | ---: |\n{table}\n"
