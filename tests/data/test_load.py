"""``load_dataset`` recognises the format from the files and refuses options it cannot honour."""

from __future__ import annotations

import pytest

from reelrec.data import detect_format, load_dataset
from reelrec.errors import DataError
from tests.data.kuairec_files import write_kuairec_tiny
from tests.data.test_movielens import write_tiny

pytestmark = pytest.mark.filterwarnings("ignore::reelrec.errors.DataWarning")


@pytest.fixture
def folders(tmp_path):
    write_kuairec_tiny(tmp_path / "kr", layout="release")
    write_tiny(tmp_path / "ml")
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "interactions.csv").write_text("user_id,item_id,label\n1,2,3\n")
    return tmp_path


def test_detect_format(folders):
    assert detect_format(folders / "kr") == "kuairec"
    assert detect_format(folders / "kr" / "KuaiRec 2.0") == "kuairec"
    assert detect_format(folders / "ml") == "movielens-100k"
    assert detect_format(folders / "gen") == "generic"


def test_unrecognised_and_missing_paths(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="no data set recognised; expected KuaiRec"):
        detect_format(tmp_path)
    with pytest.raises(DataError, match="no such file or folder"):
        load_dataset(tmp_path / "missing")


def test_each_format_is_loaded_by_its_reader(folders):
    assert load_dataset(folders / "kr", cache=False).source == "kuairec"
    assert load_dataset(folders / "ml").source == "movielens-100k"
    assert load_dataset(folders / "gen", cache=False).source == "generic"


def test_shared_options_work_everywhere_and_real_requests_are_never_ignored(folders):
    data = load_dataset(folders / "ml", duplicates="drop", clip=5.0, daily_until=None, cache=True)
    assert data.meta["duplicates_policy"] == "drop"
    with pytest.raises(TypeError, match="daily_until=20200801 does not apply to movielens-100k data"):
        load_dataset(folders / "ml", daily_until=20200801)
    with pytest.raises(TypeError, match=r"schema=.* does not apply to kuairec data"):
        load_dataset(folders / "kr", schema={"users": {}})
    with pytest.raises(TypeError, match="colour='red' is not a load option"):
        load_dataset(folders / "gen", colour="red")
