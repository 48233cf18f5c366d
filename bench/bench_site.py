"""Time to build the site from many result files (full NB201 size: 15,625 architectures each).

    python bench/bench_site.py [--files 200] [--bootstrap 0 20]

Makes ``--files`` signed results from the repository's params submission (renamed estimators x
the three seeds, signed by a throwaway key), then times ``leaderboard build`` without the
estimator pages' analyses for each bootstrap setting, and once with them (the default of
``suite leaderboard build``) for the first setting, printing the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from leaderboard.site import build
from suite import paths
from suite.keys import generate_key, load_private_key
from suite.results import ResultFile
from suite.signing import write_signed_result

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, nargs="+", default=[0, 20])
    args = parser.parse_args()
    data_dir, cache_dir = paths.data_dir(), paths.cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        key_path, pub = generate_key(tmp / "key")
        key = load_private_key(key_path)
        (tmp / "allowed_signers").write_text(f"bench {pub.read_text()}")
        source = next((REPO / "submissions" / "nb201" / "params").glob("seed20-*.json"))
        raw = json.loads(source.read_text())["result"]
        started = time.perf_counter()
        for i in range(args.files):
            raw["estimator"]["name"] = f"estimator-{i // 3:03d}"
            raw["seed"] = (20, 2020, 202020)[i % 3]
            write_signed_result(ResultFile.model_validate(raw), tmp / "files" / f"{i:04d}.json", key)
        print(f"made {args.files} signed files of 15,625 architectures in {time.perf_counter() - started:.1f} s")
        times = {}
        for resamples, analyses in [(b, False) for b in args.bootstrap] + [(args.bootstrap[0], True)]:
            started = time.perf_counter()
            report = build([tmp / "files"], tmp / "site", tmp / "allowed_signers", data_dir, cache_dir,
                           resamples=resamples, analyses=analyses)
            elapsed = times[analyses] = time.perf_counter() - started
            size = sum(p.stat().st_size for p in (tmp / "site").rglob("*") if p.is_file()) / 2**20
            print(f"build, bootstrap {resamples:>4}, analyses {'on ' if analyses else 'off'}: {elapsed:6.1f} s for "
                  f"{report.accepted} files ({report.pages} pages, {len(report.rejected)} rejected, {size:.0f} MiB)")
        print(f"analyses on / off (bootstrap {args.bootstrap[0]}): {times[True] / times[False]:.2f}x")


if __name__ == "__main__":
    main()
