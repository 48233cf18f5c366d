"""``suite leaderboard build``: the static site from the verified result files.

Offline and reproducible: every asset is written next to the pages (no CDN), plots are made at
build time, nothing depends on the clock, iteration orders are sorted, the bootstrap is seeded:
the same input gives byte-identical output. Every string that reaches HTML goes through Jinja2's
autoescaping; plots are referenced as images, so text inside them cannot run either.

Only like is ranked with like: a benchmark's ranked table holds the runs on the whole subset judged
against the protocol's ground-truth column. Runs judged against another column are shown in a
separate table that is never ranked, as the reference lines are. Runs on a seeded sample of the
subset get one table per sample, ranked only among themselves (they scored the same architectures).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import suite
from leaderboard.benchmark_page import _benchmark_page, _benchmark_table
from leaderboard.collect import collect
from leaderboard.estimator_page import _estimator_page
from leaderboard.render import _write, environment
from leaderboard.rows import _group, _slug
from suite import protocol
from suite.atomic import WriteError, clean_stale_temps, make_dirs, temp_path
from suite.benchmarks import get_benchmark
from suite.errors import UsageError
from suite.metrics import HEADLINE

ASSETS = Path(__file__).parent / "assets"
#: The file that marks a directory as a site this builder made: only such a directory is replaced.
MARKER = ".suite-site"
MARKER_TEXT = "A site built by `suite leaderboard build`; the next build into this directory replaces it whole.\n"
#: Below this many estimator pages, they are made in this process (forking would cost more).
PARALLEL_PAGES_FROM = 6


@dataclass
class BuildReport:
    """What a build did: pages written, files shown, files rejected with their reasons."""

    out: Path
    pages: int
    accepted: int
    rejected: list[tuple[Path, str]]


def build(roots: list[Path], out: Path, signers: Path, data_dir: Path | None, cache_dir: Path | None = None,
          resamples: int = 200, jobs: int | None = None, analyses: bool = True) -> BuildReport:
    """Verify what is under ``roots`` and write the site to ``out``.

    The site is written into a new directory beside ``out`` and swapped in when complete; ``out``
    must be new, empty, or a site an earlier build made (:func:`check_out_dir`): nothing else is
    ever replaced, and a build that fails leaves ``out`` as it was.

    Args:
        jobs: worker processes for verification and estimator pages (default: the CPUs, at most 8).
        analyses: run the study's analyses (``suite analyze``) on each estimator's first seed and show
            them on its page.
    """
    jobs = jobs or min(8, os.cpu_count() or 1)
    check_out_dir(out, roots)  # before the verification, which takes a while
    accepted, rejected = collect(roots, signers, data_dir, cache_dir, jobs=jobs)
    target = Path(os.path.abspath(out))
    make_dirs(target.parent)
    clean_stale_temps(target.parent)  # what builds that were killed left
    staging = temp_path(target)
    try:
        pages = _write_site(staging, accepted, data_dir, resamples, jobs, analyses)
        check_out_dir(out, roots)  # still ours, or still absent
        _swap_in(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise WriteError(f"cannot write the site beside {out} ({exc.strerror or type(exc).__name__}); "
                         f"{out} is left as it was") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildReport(out=out, pages=pages, accepted=len(accepted), rejected=rejected)


def check_out_dir(out: Path, roots: list[Path]) -> None:
    """A build replaces its output directory whole: refuse anything but a new or empty directory, or
    one an earlier build made (it holds :data:`MARKER`).

    Raises:
        UsageError: one line naming the directory and what to do.
    """
    here = Path.cwd().resolve()
    resolved = out.resolve()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"{out} is not a directory; name the site's own directory with --out-dir")
    if here.is_relative_to(resolved):
        raise UsageError(f"{out} is the working directory or holds it; the build replaces --out-dir whole: name a "
                         "directory of its own (e.g. site)")
    inside = next((r for r in roots if Path(r).resolve().is_relative_to(resolved)), None)
    if inside is not None:
        raise UsageError(f"{out} holds the input {inside}; the build replaces --out-dir whole: name another directory")
    if out.is_dir() and not (out / MARKER).is_file() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty and is not a site this command built (it has no {MARKER}); the build "
                         "replaces --out-dir whole: name a new or empty directory, or an earlier build's")


def _swap_in(staging: Path, out: Path) -> None:
    """Put the finished site in place: the old one (ours: checked) is moved aside, then removed."""
    if not (out.exists() or out.is_symlink()):
        os.rename(staging, out)
        return
    old = temp_path(out, ".old")
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_site(out: Path, accepted: list, data_dir: Path | None, resamples: int, jobs: int, analyses: bool) -> int:
    """Write every page, plot, download and analysis under ``out`` (new); returns the number of pages."""
    out.mkdir()
    (out / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    for sub in ("assets", "plots", "estimators", "benchmarks", "downloads", "analyses"):
        (out / sub).mkdir(parents=True)
    for asset in sorted(ASSETS.iterdir()):
        shutil.copyfile(asset, out / "assets" / asset.name)
    env = environment()
    groups = _group(accepted)
    benchmarks = sorted({key[0] for key in groups})
    common = {"benchmarks": benchmarks, "suite_version": suite.__version__,
              "protocol_version": protocol.PROTOCOL_VERSION, "n_files": len(accepted)}
    loaded = {name: _load_benchmark(name, data_dir) for name in benchmarks}
    keys = sorted(groups)
    contexts = dict(zip(keys, _estimator_pages(keys, groups, loaded, out, jobs, analyses)))
    pages = 0
    tables = []
    for bench in benchmarks:
        bench_keys = [k for k in keys if k[0] == bench]
        tables.append(_benchmark_table(bench, bench_keys, groups, loaded[bench], resamples, out))
        for key in bench_keys:
            _write(out / "estimators" / f"{_slug(key)}.html",
                   env.get_template("estimator.html.j2").render(**common, **contexts[key], root="../", title=key[1]))
            pages += 1
        _write(out / "benchmarks" / f"{bench}.html",
               env.get_template("benchmark.html.j2").render(**common, **_benchmark_page(loaded[bench], out), root="../",
                                                            title=bench))
        pages += 1
    families = sorted({row["family"] for t in tables for section in (t["rows"], *(a["rows"] for a in t["apart"]))
                       for row in section})  # reference lines are not filtered
    _write(out / "index.html", env.get_template("index.html.j2").render(
        **common, tables=tables, criteria=HEADLINE, families=families, resamples=resamples, root="", title="Leaderboard"))
    return pages + 1


#: What forked page workers read: set just before the pool starts, so nothing big is pickled.
_page_inputs: tuple | None = None


def _estimator_pages(keys: list[tuple], groups, loaded: dict, out: Path, jobs: int, analyses: bool) -> list[dict]:
    """Each estimator page's template context, its plots and downloads written under ``out``.

    Pages are independent, so they are made in forked workers when there are enough of them (fork:
    the workers read the verified results and ground truths in place instead of receiving copies).
    The output does not depend on how the pages were shared out.
    """
    global _page_inputs
    if jobs < 2 or len(keys) < PARALLEL_PAGES_FROM or sys.platform != "linux":
        return [_estimator_page(k, groups[k], loaded[k[0]], out, analyses) for k in keys]
    _page_inputs = (groups, loaded, out, analyses)
    try:
        with ProcessPoolExecutor(min(jobs, len(keys)), mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_estimator_page_in_worker, keys))
    finally:
        _page_inputs = None


def _estimator_page_in_worker(key: tuple) -> dict:
    assert _page_inputs is not None
    groups, loaded, out, analyses = _page_inputs
    return _estimator_page(key, groups[key], loaded[key[0]], out, analyses)


def _load_benchmark(name: str, data_dir: Path | None):
    return get_benchmark(name).load(data_dir)
