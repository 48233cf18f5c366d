"""`suite leaderboard table`'s comparison table: only like is ranked with like, as on the site."""

from __future__ import annotations

import pandas as pd

from leaderboard.tables import comparison_table


def _row(estimator, kd, seed=20, family="zero-shot", sample=0, sample_seed=-1, gt="cifar10_test_200"):
    return {"benchmark": "nb201", "estimator": estimator, "family": family, "config": "{}", "seed": seed,
            "complete": True, "partial": False, "sample": sample, "sample_seed": sample_seed, "gt": gt, "n": 10,
            "KD": kd}


def test_rows_rank_only_among_runs_on_the_same_architectures_and_ground_truth():
    frame = pd.DataFrame([
        _row("a", 0.5), _row("a", 0.7, seed=2020),  # mean 0.6
        _row("b", 0.65),
        _row("ceiling", 0.9, family="reference"),
        _row("picked_gt", 0.95, gt="cifar10_test_12"),  # another column: shown, never ranked
        _row("s1", 0.99, sample=200, sample_seed=0), _row("s2", 0.2, sample=200, sample_seed=0),
        _row("s3", 0.98, sample=2, sample_seed=0),  # another sample: its own ranking
    ])
    table = comparison_table(frame, criteria=("KD",))
    ranks = {row.estimator: (None if pd.isna(row.rank) else int(row.rank)) for row in table.itertuples()}
    assert ranks == {"a": 2, "b": 1, "ceiling": None, "picked_gt": None, "s3": 1, "s1": 1, "s2": 2}
    assert table.set_index("estimator").loc["a", "seeds"] == 2
    assert table.set_index("estimator").loc["picked_gt", "other_gt"]
    assert not table.set_index("estimator").loc["ceiling", "other_gt"]
    # whole subset first, then each sample; ranked rows before the unranked ones
    assert list(table["estimator"]) == ["b", "a", "picked_gt", "ceiling", "s3", "s1", "s2"]
