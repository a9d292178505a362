"""What a run did, as Markdown (the Prefect artifact) and as one log line per batch."""

from etl.records import RunCounts

SLOWEST_FILES = 5
REJECTIONS_SHOWN = 50


def run_summary_markdown(flow: str, run_id: int, counts: RunCounts) -> str:
    """Counts per status, the slowest files read, and the rejected files with their reasons."""
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
    sections = [
        f"# newsetl {flow} run {run_id}",
        "| what | count |\n| --- | ---: |\n" + "\n".join(f"| {name} | {value} |" for name, value in rows),
    ]
    slowest = sorted(counts.file_seconds.items(), key=lambda item: item[1], reverse=True)[:SLOWEST_FILES]
    if slowest:
        table = "\n".join(f"| {_cell(path)} | {seconds:.2f} |" for path, seconds in slowest)
        sections.append(f"## Slowest files\n\n| file | seconds |\n| --- | ---: |\n{table}")
    if counts.rejections:
        shown = counts.rejections[:REJECTIONS_SHOWN]
        table = "\n".join(f"| {_cell(r.source_path)} | {r.record_index} | {_cell(r.reason)} |" for r in shown)
        more = len(counts.rejections) - len(shown)
        note = f"\n\n{more} more in the `rejected_files` table." if more else ""
        sections.append(f"## Rejected\n\n| file | record | reason |\n| --- | ---: | --- |\n{table}{note}")
    return "\n\n".join(sections) + "\n"


def batch_log_line(number: int, total: int, files: int, counts: RunCounts, seconds: float) -> str:
    """One line per batch, `key=value` after the batch number, for people and log search alike."""
    values = {
        "files": files,
        "loaded": counts.loaded,
        "skipped": counts.skipped,
        "duplicate": counts.duplicate,
        "rejected": counts.rejected,
        "articles": counts.articles,
        "mentions": counts.mentions,
        "events": counts.events,
        "seconds": f"{seconds:.1f}",
    }
    return f"batch {number}/{total}: " + " ".join(f"{name}={value}" for name, value in values.items())


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")
