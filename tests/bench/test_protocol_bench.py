"""`run_bench` builds its splits with the evaluation protocol: temporal features stop before the cutoff."""

import datetime as dt

import pytest

from reelrec.bench import run_bench
from reelrec.data import load_dataset

BEIJING = dt.timezone(dt.timedelta(hours=8))


def test_temporal_bench_uses_features_from_before_the_cutoff(kuairec_tiny):
    result = run_bench(kuairec_tiny, ["popularity"], protocol="temporal", seeds=1, progress=False, n_boot=100)
    split = result.info["split"]
    cutoff_day = int(dt.datetime.fromtimestamp(split["cutoff"], BEIJING).strftime("%Y%m%d"))
    assert result.info["protocol"] == "temporal" and split["features_until"] < cutoff_day
    assert len(split["data_fingerprint"]) == 32


def test_a_loaded_dataset_with_later_statistics_is_refused(kuairec_tiny):
    whole = load_dataset(kuairec_tiny)
    with pytest.raises(ValueError, match="give the data path"):
        run_bench(whole, ["popularity"], protocol="temporal", seeds=1, progress=False)
