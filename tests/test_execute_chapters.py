"""book/_ext/execute_chapters.py: chapters executed into the cache side by side, in an order that trains nothing twice.

The scheduling tests run fake chapters (no kernel); one integration test executes a tiny chapter
into a scratch cache; the last, after ``make book``, checks that the step reads each chapter as the
build did, so that Sphinx finds every chapter it executed in the cache.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

from tests.book_extensions import load_extension

execute_chapters = load_extension("execute_chapters")
Chapter = execute_chapters.Chapter

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = ROOT / "_build" / "jupyter_execute"


def fake(document: str, *after: str) -> Chapter:
    return Chapter(document, Path(f"{document}.md"), nbformat.v4.new_notebook(), tuple(after))


def run(
    pending: list[Chapter], workers: int, seconds: dict[str, float], fail: str = "", log: list | None = None
) -> list[tuple[str, str]]:
    """Run fake chapters that sleep; return the log of starts and ends ("start"/"end", document)."""
    log = [] if log is None else log

    async def execute(chapter: Chapter) -> float:
        log.append(("start", chapter.document))
        await asyncio.sleep(seconds.get(chapter.document, 0.01))
        if chapter.document == fail:
            raise execute_chapters.ChapterFailed(chapter.document, "a cell raised")
        log.append(("end", chapter.document))
        return 0.0

    asyncio.run(execute_chapters.run_all(pending, workers, execute, lambda line: None))
    return log


def test_the_book_s_chapters_that_use_the_default_recipes_wait_for_the_training_chapter():
    found = {chapter.document: chapter.after for chapter in execute_chapters.chapters()}
    assert found["book/07_training"] == ()
    for document in ("book/08_evaluation", "book/09_your_digit", "book/11_stronger_model"):
        assert found[document] == ("book/07_training",), document
    independent = set(found) - {"book/08_evaluation", "book/09_your_digit", "book/11_stronger_model"}
    assert all(found[document] == () for document in independent)


def test_a_chapter_starts_only_after_those_it_waits_for_and_no_more_than_workers_run_at_once():
    pending = [fake("a"), fake("b"), fake("train"), fake("use", "train"), fake("c")]
    log = run(pending, 2, {"train": 0.2})
    assert log.index(("end", "train")) < log.index(("start", "use"))
    running = peak = 0
    for event, _ in log:
        running += 1 if event == "start" else -1
        peak = max(peak, running)
    assert peak == 2
    assert sorted(document for event, document in log if event == "end") == ["a", "b", "c", "train", "use"]


def test_chapters_that_others_wait_for_start_first():
    pending = [fake("a"), fake("b"), fake("train"), fake("use", "train")]
    assert [chapter.document for chapter in execute_chapters.in_start_order(pending)] == ["train", "a", "b", "use"]


def test_a_failing_chapter_stops_the_others_at_once_and_is_named():
    pending = [fake("slow"), fake("broken"), fake("later")]
    log: list[tuple[str, str]] = []
    with pytest.raises(execute_chapters.ChapterFailed, match="broken failed"):
        run(pending, 2, {"slow": 30.0, "broken": 0.05}, fail="broken", log=log)
    assert ("start", "slow") in log and ("end", "slow") not in log, "the slow chapter was waited for, not cancelled"
    assert ("start", "later") not in log, "a chapter started after the failure"


def test_after_a_failure_no_waiting_chapter_starts():
    started = []

    async def execute(chapter: Chapter) -> float:
        started.append(chapter.document)
        raise execute_chapters.ChapterFailed(chapter.document, "a cell raised")

    with pytest.raises(execute_chapters.ChapterFailed, match="first failed"):
        asyncio.run(execute_chapters.run_all([fake("first"), fake("second")], 1, execute, lambda line: None))
    assert started == ["first"]


def test_workers_and_threads_follow_the_cores():
    assert execute_chapters.default_workers(1) == 1
    assert execute_chapters.default_workers(2) == 1
    assert execute_chapters.default_workers(16) == 8
    assert execute_chapters.threads_per_kernel(2, 1) is None  # PyTorch's own choice, as in a plain build
    assert execute_chapters.threads_per_kernel(2, 2) == 1
    assert execute_chapters.threads_per_kernel(16, 8) == 2
    assert execute_chapters.cores() >= 1


TINY = """---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Tiny

```{code-cell} ipython3
CODE
```
"""
WHERE_AND_THREADS = 'import os\nprint(os.path.basename(os.getcwd()), os.environ.get("OMP_NUM_THREADS"))'


@pytest.mark.integration
def test_a_chapter_is_executed_from_its_folder_into_the_cache(tmp_path: Path):
    chapter_path = tmp_path / "chapters" / "tiny.md"
    chapter_path.parent.mkdir()
    chapter_path.write_text(TINY.replace("CODE", WHERE_AND_THREADS), encoding="utf-8")
    config = {"parse": {"myst_enable_extensions": ["colon_fence"]}}
    chapter = Chapter("chapters/tiny", chapter_path, execute_chapters.read_chapter(chapter_path, config))
    cache = get_cache(str(tmp_path / "cache"))
    execute = execute_chapters.kernel_executor(cache, timeout=120, threads=3)

    asyncio.run(execute_chapters.run_all([chapter], 1, execute, lambda line: None))

    fresh = execute_chapters.read_chapter(chapter_path, config)
    assert not execute_chapters.uncached([Chapter("chapters/tiny", chapter_path, fresh)], cache)
    _, merged = cache.merge_match_into_notebook(fresh)
    (cell,) = [cell for cell in merged.cells if cell.cell_type == "code"]
    assert cell.outputs[0]["text"] == "chapters 3\n"


def tiny_chapter(folder: Path, name: str, code: str) -> Chapter:
    path = folder / f"{name}.md"
    path.write_text(TINY.replace("CODE", code), encoding="utf-8")
    return Chapter(name, path, execute_chapters.read_chapter(path, {}))


@pytest.mark.integration
def test_a_failing_kernel_stops_the_chapter_running_beside_it(tmp_path: Path):
    finished = tmp_path / "slow-finished"
    slow = tiny_chapter(tmp_path, "slow", f"import time\ntime.sleep(120)\nopen({str(finished)!r}, 'w').close()")
    broken = tiny_chapter(tmp_path, "broken", "raise ValueError('planted')")
    execute = execute_chapters.kernel_executor(get_cache(str(tmp_path / "cache")), timeout=300, threads=1)
    with pytest.raises(execute_chapters.ChapterFailed, match="(?s)broken failed.*planted"):
        asyncio.run(execute_chapters.run_all([slow, broken], 2, execute, lambda line: None))
    assert not finished.exists(), "the failure waited for the slow chapter to finish"


@pytest.mark.book
def test_the_step_reads_every_chapter_as_the_build_did(tmp_path: Path):
    """myst-nb writes each notebook it rendered to _build/jupyter_execute; it must hash as the step's reading."""
    found = execute_chapters.chapters()
    built = [EXECUTED / f"{chapter.document}.ipynb" for chapter in found]
    if not all(path.is_file() for path in built):
        pytest.skip(f"{EXECUTED} lacks executed chapters: run `make book` first")
    hashing = get_cache(str(tmp_path / "cache"))
    for chapter, path in zip(found, built, strict=True):
        _, ours = hashing.create_hashed_notebook(chapter.notebook)
        _, theirs = hashing.create_hashed_notebook(nbformat.read(path, as_version=4))
        assert ours == theirs, f"{chapter.document}: the step and the build read it differently"
