"""The run report: counts per status, the slowest files, rejected files with reasons, and batch log lines."""

from etl.records import Rejection, RunCounts
from etl.summary import SLOWEST_FILES, batch_log_line, run_summary_markdown


def test_summary_lists_counts_slowest_files_and_rejections() -> None:
    counts = RunCounts(loaded=7, rejected=2, articles=9)
    counts.file_seconds = {f"/in/{n}.txt": float(n) for n in range(10)}
    counts.rejections = [Rejection("/in/empty.txt", "empty file"), Rejection("/in/feed.jsonl", "line 3: a|b\nc", 3)]

    markdown = run_summary_markdown("nightly", 4, counts)

    assert markdown.startswith("# newsetl nightly run 4\n")
    assert "| files loaded | 7 |" in markdown and "| files rejected | 2 |" in markdown
    slowest = markdown.split("## Slowest files")[1].split("## Rejected")[0]
    assert [f"/in/{n}.txt" for n in range(9, 9 - SLOWEST_FILES, -1)] == [
        line.split(" | ")[0].removeprefix("| ") for line in slowest.splitlines() if line.startswith("| /in/")
    ]
    assert "| /in/9.txt | 9.00 |" in slowest
    assert "| /in/empty.txt | 0 | empty file |" in markdown
    assert "| /in/feed.jsonl | 3 | line 3: a\\|b c |" in markdown  # one line, the pipe escaped


def test_summary_of_a_run_with_nothing_to_read_has_only_counts() -> None:
    markdown = run_summary_markdown("backfill", 1, RunCounts(skipped=3))
    assert "Slowest" not in markdown and "Rejected" not in markdown
    assert "| files skipped (unchanged) | 3 |" in markdown


def test_summary_batch_log_line_is_key_value() -> None:
    line = batch_log_line(2, 5, 64, RunCounts(loaded=60, rejected=4, articles=61, mentions=900, events=120), 12.34)
    assert line == (
        "batch 2/5: files=64 loaded=60 skipped=0 duplicate=0 rejected=4 articles=61 mentions=900 events=120 "
        "seconds=12.3"
    )


def test_summary_counts_add_merges_rejections_and_file_times() -> None:
    total = RunCounts(file_seconds={"/a": 1.0})
    total.add(RunCounts(rejected=1, rejections=[Rejection("/b", "empty file")], file_seconds={"/a": 0.5, "/b": 2.0}))
    assert total.rejected == 1 and total.rejections == [Rejection("/b", "empty file")]
    assert total.file_seconds == {"/a": 1.5, "/b": 2.0}
