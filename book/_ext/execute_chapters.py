"""Execute the book's chapters into the execution cache, several at once where the machine has the cores.

``python book/_ext/execute_chapters.py [--workers N] [--cache DIR] [CHAPTER ...]`` (``make book``
runs it before ``jupyter-book build``) reads every notebook of ``_toc.yml`` (or the chapters named)
as myst-nb reads it, and executes those the execution cache (``execute.cache`` in ``_config.yml``)
does not hold yet, each in a fresh kernel started in its chapter's folder, with the cell timeout of
``_config.yml``, as myst-nb would; each executed chapter goes into the cache, where the build then
finds it and only renders it.

Chapters whose code asks for the package's default recipes (``mt.default_recipe``) start after the
first chapter that does, which trains those models into the package's model cache
(``mt.trained_model``): started together, two kernels would each train the same recipe.

By default one chapter runs at a time on a machine with two cores or fewer, where running two at
once was not faster (``benchmarks/README.md``), and otherwise one per two cores. With several at
once each kernel gets its share of the cores as ``OMP_NUM_THREADS``. A chapter that fails stops the
others at once: the step prints the chapter and the traceback of its cell, and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn, JupyterCacheAbstract
from myst_nb.core.read import read_myst_markdown_notebook
from myst_parser.config.main import MdParserConfig
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from toc import ROOT, notebooks, source

#: A chapter that calls this trains or uses the models of the package's default recipes.
USES_DEFAULT_RECIPES = re.compile(r"\bdefault_recipe\(")
#: The fewest cores on which chapters run side by side by default.
PARALLEL_FROM_CORES = 3


@dataclass(frozen=True)
class Chapter:
    """A notebook of the book as myst-nb reads it, and the chapters it must wait for."""

    document: str
    path: Path
    notebook: nbformat.NotebookNode
    after: tuple[str, ...] = ()


class ChapterFailed(RuntimeError):
    """A chapter's cell raised or timed out."""

    def __init__(self, document: str, detail: str) -> None:
        super().__init__(f"{document} failed:\n{detail}")
        self.document = document


def book_config(root: Path = ROOT) -> dict[str, Any]:
    """The book's ``_config.yml``."""
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def read_chapter(path: Path, config: dict[str, Any]) -> nbformat.NotebookNode:
    """Read a MyST notebook as myst-nb does, with the book's MyST extensions, so that it hashes as in the build."""
    md_config = MdParserConfig(enable_extensions=set(config.get("parse", {}).get("myst_enable_extensions", [])))
    text = path.read_text(encoding="utf-8")
    return read_myst_markdown_notebook(text, config=md_config, add_source_map=True, path=str(path))


def code_of(notebook: nbformat.NotebookNode) -> str:
    """The source of a notebook's code cells."""
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def chapters(root: Path = ROOT) -> list[Chapter]:
    """The notebooks of the toc in reading order, each with the chapters it waits for (see the module's doc)."""
    config = book_config(root)
    read = [(document, source(document, root)) for document in notebooks(root / "_toc.yml")]
    found, trainer = [], None
    for document, path in read:
        notebook = read_chapter(path, config)
        after: tuple[str, ...] = ()
        if USES_DEFAULT_RECIPES.search(code_of(notebook)):
            after, trainer = ((trainer,), trainer) if trainer else ((), document)
        found.append(Chapter(document, path, notebook, after))
    return found


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(cores: int) -> int:
    """How many chapters run at once by default on a machine with ``cores``: one per two cores, one on two or fewer."""
    return 1 if cores < PARALLEL_FROM_CORES else cores // 2


def threads_per_kernel(cores: int, workers: int) -> int | None:
    """``OMP_NUM_THREADS`` for each kernel: the cores shared out; None (PyTorch's own choice) for one at a time."""
    return None if workers <= 1 else max(1, cores // workers)


def in_start_order(pending: list[Chapter]) -> list[Chapter]:
    """Chapters that others wait for first, then the rest in reading order."""
    waited_for = {name for chapter in pending for name in chapter.after}
    return sorted(pending, key=lambda chapter: chapter.document not in waited_for)


Execute = Callable[[Chapter], Awaitable[float]]


async def run_all(pending: list[Chapter], workers: int, execute: Execute, report: Callable[[str], None]) -> None:
    """Execute ``pending`` with at most ``workers`` at once, each after those it waits for.

    The first failure cancels every other chapter (their kernels are shut down) and is raised.
    """
    done = {chapter.document: asyncio.Event() for chapter in pending}
    failed = asyncio.Event()
    slots = asyncio.Semaphore(workers)

    async def run(chapter: Chapter) -> None:
        for name in chapter.after:
            if name in done:
                await done[name].wait()
        async with slots:
            if failed.is_set():  # the slot was freed by a failure: start nothing more
                return
            report(f"{chapter.document}: executing")
            try:
                seconds = await execute(chapter)
            except Exception:
                failed.set()
                raise
            report(f"{chapter.document}: executed in {seconds:.1f} s")
        done[chapter.document].set()

    tasks = [asyncio.create_task(run(chapter)) for chapter in in_start_order(pending)]
    try:
        for finished in asyncio.as_completed(tasks):
            await finished
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def kernel_executor(cache: JupyterCacheAbstract, timeout: int, threads: int | None) -> Execute:
    """Execute a chapter in a fresh kernel from its folder, as myst-nb does, and store it in ``cache``."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)

    async def execute(chapter: Chapter) -> float:
        client = NotebookClient(
            chapter.notebook,
            timeout=timeout,
            allow_errors=False,
            record_timing=False,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(chapter.path.parent)}},
        )
        start = time.perf_counter()
        try:
            await client.async_execute(env=env)
        except (CellExecutionError, CellTimeoutError) as error:
            raise ChapterFailed(chapter.document, str(error)) from None
        except Exception as error:  # a kernel that died or could not start
            raise ChapterFailed(chapter.document, f"{type(error).__name__}: {error}") from error
        seconds = time.perf_counter() - start
        bundle = CacheBundleIn(chapter.notebook, str(chapter.path), data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
        return seconds

    return execute


def uncached(found: list[Chapter], cache: JupyterCacheAbstract) -> list[Chapter]:
    """The chapters whose code the cache does not hold."""
    missing = []
    for chapter in found:
        try:
            cache.match_cache_notebook(chapter.notebook)
        except KeyError:
            missing.append(chapter)
    return missing


def main(argv: list[str] | None = None) -> int:
    """Execute the chapters the cache lacks; 1 when one fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, help="chapters at once (default: from the machine's cores)")
    parser.add_argument("--cache", type=Path, help="the execution cache (default: execute.cache of _config.yml)")
    parser.add_argument("names", nargs="*", help="only these chapters (01_tensors ...; default: every one)")
    args = parser.parse_args(argv)
    config = book_config()
    execute_config = config.get("execute", {})
    cache = get_cache(str(args.cache or ROOT / execute_config.get("cache", "_build/.jupyter_cache")))
    selected = [chapter for chapter in chapters() if not args.names or chapter.path.stem in args.names]
    unknown = set(args.names) - {chapter.path.stem for chapter in selected}
    if unknown:
        parser.error(f"no notebook chapter named {', '.join(sorted(unknown))}")
    pending = uncached(selected, cache)
    available = cores()
    workers = max(1, min(args.workers or default_workers(available), len(pending) or 1))
    threads = threads_per_kernel(available, workers)
    each = f"{threads} thread(s) each" if threads else "PyTorch's own threads"
    print(f"execute_chapters: {len(pending)} to execute, {workers} at a time on {available} cores, {each}", flush=True)
    execute = kernel_executor(cache, int(execute_config.get("timeout", 1200)), threads)
    try:
        asyncio.run(run_all(pending, workers, execute, lambda line: print(f"execute_chapters: {line}", flush=True)))
    except ChapterFailed as failure:
        print(f"execute_chapters: {failure}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
