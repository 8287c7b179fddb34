"""Tests for jaxpriv.data: Dataset, split, paths and the loaders."""

import pathlib

import jax
import numpy as np
import pytest

from jaxpriv import data
from jaxpriv.data import _loaders


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


# ---------------------------------------------------------------- digits

def test_digits_shape_range_and_metadata(digits):
    assert digits.x.shape == (1797, 64) and digits.x.dtype == np.float32
    assert digits.y.shape == (1797,) and digits.y.dtype == np.int32
    assert digits.x.min() == 0.0 and digits.x.max() == 1.0
    assert set(np.unique(digits.y)) == set(range(10))
    assert digits.num_classes == 10 and digits.image_shape == (8, 8)
    assert len(digits.feature_names) == 64 and digits.class_names[3] == "3"
    assert digits.images().shape == (1797, 8, 8)


def test_load_dispatches_by_name(digits):
    ds = data.load("digits")
    np.testing.assert_array_equal(ds.x, digits.x)
    assert data.DATASETS == ("digits", "att_faces", "steak_survey", "location", "warfarin")


def test_unknown_dataset_name_lists_known_names():
    with pytest.raises(ValueError) as e:
        data.load("mnist")
    message = str(e.value)
    assert "'mnist'" in message
    for name in data.DATASETS:
        assert repr(name) in message


# ---------------------------------------------------------------- split

def test_split_is_disjoint_with_the_requested_sizes():
    s = data.split(jax.random.key(0), 100, n_members=50, n_nonmembers=30, n_test=20)
    assert (len(s.members), len(s.nonmembers), len(s.test)) == (50, 30, 20)
    everything = np.concatenate(s)
    assert len(np.unique(everything)) == 100
    assert everything.min() >= 0 and everything.max() < 100
    assert s.members.dtype == np.int64


def test_split_accepts_a_dataset_and_may_leave_rows_out(digits):
    s = data.split(jax.random.key(1), digits, n_members=10, n_nonmembers=5)
    assert (len(s.members), len(s.nonmembers), len(s.test)) == (10, 5, 0)
    assert not set(s.members) & set(s.nonmembers)


def test_split_same_key_same_split_other_key_other_split():
    kwargs = dict(n_members=40, n_nonmembers=40, n_test=20)
    a = data.split(jax.random.key(7), 100, **kwargs)
    b = data.split(jax.random.key(7), 100, **kwargs)
    c = data.split(jax.random.key(8), 100, **kwargs)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.members, c.members)


def test_split_stratify_keeps_class_proportions(digits):
    n_members, n_nonmembers, n_test = 900, 600, 297
    s = data.split(jax.random.key(3), digits, n_members=n_members,
                   n_nonmembers=n_nonmembers, n_test=n_test, stratify=digits.y)
    total = np.bincount(digits.y, minlength=10)
    for part, size in zip(s, (n_members, n_nonmembers, n_test)):
        counts = np.bincount(digits.y[part], minlength=10)
        np.testing.assert_allclose(counts, total * size / len(digits), atol=2)


def test_split_stratify_on_unbalanced_labels():
    labels = np.array([0] * 90 + [1] * 10)
    s = data.split(jax.random.key(0), 100, n_members=50, n_nonmembers=50, stratify=labels)
    assert abs(int(labels[s.members].sum()) - 5) <= 1
    assert abs(int(labels[s.nonmembers].sum()) - 5) <= 1


@pytest.mark.parametrize("sizes", [dict(n_members=101), dict(n_members=60, n_nonmembers=41),
                                   dict(n_members=50, n_nonmembers=30, n_test=21)])
def test_split_too_large_raises(sizes):
    with pytest.raises(ValueError, match="<= 100 rows"):
        data.split(jax.random.key(0), 100, **sizes)


def test_split_negative_size_raises():
    with pytest.raises(ValueError, match="n_test=-1"):
        data.split(jax.random.key(0), 100, n_members=10, n_test=-1)


def test_split_stratify_wrong_shape_raises():
    with pytest.raises(ValueError, match="stratify"):
        data.split(jax.random.key(0), 100, n_members=10, stratify=np.zeros(99, np.int32))


# ---------------------------------------------------------------- Dataset

def _dataset(**overrides):
    kwargs = dict(name="toy", x=np.zeros((4, 3), np.float32), y=np.array([0, 1, 2, 0], np.int32),
                  num_classes=3)
    kwargs.update(overrides)
    return data.Dataset(**kwargs)


def test_dataset_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="same number of rows"):
        _dataset(y=np.zeros(5, np.int32))


def test_dataset_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"Expected y in \[0, 2\]"):
        _dataset(y=np.array([0, 1, 3, 0], np.int32))
    with pytest.raises(ValueError, match="Expected y in"):
        _dataset(y=np.array([0, -1, 2, 0], np.int32))


def test_dataset_rejects_nan():
    x = np.zeros((4, 3), np.float32)
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match="Expected x to be finite"):
        _dataset(x=x)
    with pytest.raises(ValueError, match="Expected y to be finite"):
        _dataset(y=np.array([0.0, np.nan, 1.0, 2.0], np.float32), num_classes=0)


def test_dataset_rejects_bad_metadata():
    with pytest.raises(ValueError, match="feature_names"):
        _dataset(feature_names=("a", "b"))
    with pytest.raises(ValueError, match="sensitive=3"):
        _dataset(sensitive=3)


def test_dataset_subset_indexes_per_row_extra():
    ds = _dataset(extra={"row_id": np.arange(4), "note": "kept"})
    sub = ds.subset(np.array([3, 1]))
    np.testing.assert_array_equal(sub.extra["row_id"], [3, 1])
    assert sub.extra["note"] == "kept" and len(sub) == 2
    np.testing.assert_array_equal(sub.y, [0, 1])


# ---------------------------------------------------------------- paths

def test_data_dir_prefers_the_argument(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXPRIV_DATA", "/somewhere/else")
    assert data.data_dir(tmp_path) == tmp_path
    assert data.data_dir() == pathlib.Path("/somewhere/else")
    monkeypatch.delenv("JAXPRIV_DATA")
    assert data.data_dir() is None


def test_find_file_finds_an_existing_file(tmp_path):
    (tmp_path / "steak_survey").mkdir()
    target = tmp_path / "steak_survey" / "steak-risk-survey.csv"
    target.write_text("x")
    assert data.find_file("steak_survey/steak-risk-survey.csv", tmp_path) == target.resolve()


def test_missing_file_error_names_file_places_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        data.load_steak_survey(data_dir=tmp_path)
    message = str(e.value)
    assert "steak_survey/steak-risk-survey.csv" in message
    assert str(tmp_path / "steak_survey" / "steak-risk-survey.csv") in message
    assert "JAXPRIV_DATA" in message and "--data-dir" in message and "data_dir=" in message
    assert "fivethirtyeight/data" in message


@pytest.mark.parametrize("loader, hint", [
    (data.load_att_faces, "ORL"),
    (data.load_location, "privacytrustlab/datasets"),
    (data.load_warfarin, "PharmGKB"),
])
def test_missing_file_error_says_where_to_download(tmp_path, loader, hint):
    with pytest.raises(FileNotFoundError, match=hint):
        loader(data_dir=tmp_path)


def test_missing_file_error_without_any_data_dir(monkeypatch):
    monkeypatch.delenv("JAXPRIV_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="JAXPRIV_DATA environment variable is not set"):
        data.find_file("shokri_location/bangkok")


# ---------------------------------------------------------------- parsers on small files

def test_read_pgm_parses_header_with_comment(tmp_path):
    pixels = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = tmp_path / "a.pgm"
    path.write_bytes(b"P5\n# made by a test\n3 2\n255\n" + pixels.tobytes())
    np.testing.assert_array_equal(_loaders._read_pgm(path), pixels)


def test_read_pgm_rejects_wrong_sizes(tmp_path):
    path = tmp_path / "a.pgm"
    path.write_bytes(b"P5\n3 2\n255\n" + bytes(5))
    with pytest.raises(ValueError, match="6 pixel bytes"):
        _loaders._read_pgm(path)
    path.write_bytes(b"P2\n3 2\n255\n" + bytes(6))
    with pytest.raises(ValueError, match="P5"):
        _loaders._read_pgm(path)


def test_steak_survey_choices_on_a_small_file(tmp_path):
    header = ["RespondentID"] + [title for _, title, _ in _loaders.STEAK_FEATURES[:7]] + [
        "Do you eat steak?", _loaders.STEAK_TARGET] + [
        title for _, title, _ in _loaders.STEAK_FEATURES[7:]]
    rows = [
        ["1", "Lottery A", "No", "Yes", "No", "No", "Yes", "Yes", "Yes", "Rare", "Male",
         "> 60", "$150,000+", "Graduate degree", "Pacific"],
        ["2", "", "No", "Yes", "No", "No", "Yes", "", "Yes", "Well", "", "18-29", "", "", ""],
        ["3", "Lottery B", "Yes", "No", "Yes", "No", "No", "No", "No", "", "Female",
         "30-44", "", "", ""],
    ]
    import csv
    (tmp_path / "steak_survey").mkdir()
    with open(tmp_path / "steak_survey" / "steak-risk-survey.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerow([""] + ["Response"] * (len(header) - 1))
        writer.writerows(rows)
    ds = data.load_steak_survey(data_dir=tmp_path)
    assert len(ds) == 1 and ds.y.tolist() == [0]
    assert ds.x[0].tolist() == [0, 0, 1, 0, 0, 1, 1, 1, 3, 4, 4, 5]
    missing = ds.extra["sensitive_missing"]
    assert len(missing) == 1 and missing.y.tolist() == [4]
    assert missing.x[0].tolist() == [2, 0, 1, 0, 0, 1, -1, 2, 0, 5, 5, 9]


# ---------------------------------------------------------------- shared-data loaders

def test_att_faces(data_dir):
    ds = data.load_att_faces(data_dir)
    assert ds.x.shape == (400, 112 * 92) and ds.x.dtype == np.float32
    assert ds.y.dtype == np.int32 and ds.num_classes == 40
    assert ds.image_shape == (112, 92) and ds.images().shape == (400, 112, 92)
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    np.testing.assert_array_equal(ds.y, np.repeat(np.arange(40), 10))
    np.testing.assert_array_equal(ds.extra["image_index"], np.tile(np.arange(1, 11), 40))
    first = (data_dir / "att_faces" / "s1" / "1.pgm").read_bytes()[-112 * 92:]
    np.testing.assert_allclose(ds.x[0] * 255, np.frombuffer(first, np.uint8), atol=1e-3)
    sub = ds.subset(np.array([12, 3]))
    np.testing.assert_array_equal(sub.extra["image_index"], [3, 4])


def test_steak_survey(data_dir):
    ds = data.load("steak_survey", data_dir)
    assert ds.x.shape == (430, 12) and ds.y.shape == (430,)
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int32
    assert ds.class_names == ("Rare", "Medium rare", "Medium", "Medium Well", "Well")
    assert np.bincount(ds.y, minlength=5).tolist() == [23, 165, 132, 74, 36]
    assert ds.feature_names[ds.sensitive] == "cheated"
    assert ds.value_sets["cheated"] == ("No", "Yes")
    assert np.bincount(ds.x[:, ds.sensitive].astype(int)).tolist() == [358, 72]
    for j, name in enumerate(ds.feature_names):
        assert ds.x[:, j].max() < len(ds.value_sets[name])
        assert ds.x[:, j].min() >= 0
        if name != "cheated":
            assert ds.value_sets[name][-1] == "missing"
    missing = ds.extra["sensitive_missing"]
    assert missing.x.shape == (2, 12) and np.all(missing.x[:, ds.sensitive] == -1)


def test_location(data_dir):
    ds = data.load_location(data_dir)
    assert ds.x.shape == (5010, 446) and ds.y.shape == (5010,)
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int32
    assert set(np.unique(ds.x)) == {0.0, 1.0}
    counts = np.bincount(ds.y, minlength=30)
    assert ds.num_classes == 30 and counts.min() == 97 and counts.max() == 308
    assert abs(ds.x.sum(axis=1).mean() - 53.7) < 0.05


def test_warfarin_and_design_matrix(data_dir):
    ds = data.load_warfarin(data_dir)
    assert ds.x.shape == (1741, 8) and ds.y.shape == (1741,)
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.float32
    assert ds.num_classes == 0 and ds.feature_names[ds.sensitive] == "vkorc1"
    assert ds.value_sets["vkorc1"] == ("A/A", "A/G", "G/G")
    assert np.bincount(ds.x[:, ds.sensitive].astype(int)).tolist() == [500, 614, 627]
    assert 2.0 < ds.y.min() and ds.y.max() <= 315.0
    age = ds.x[:, ds.feature_names.index("age")]
    assert age.min() >= 0 and age.max() <= 9

    design = data.warfarin_design_matrix(ds)
    assert design.matrix.shape == (1741, 15) and design.matrix.dtype == np.float32
    assert len(design.columns) == 15
    assert [design.columns[i] for i in design.sensitive_columns] == ["vkorc1=A/G", "vkorc1=G/G"]
    assert design.sensitive_codes.shape == (3, 2)
    # Writing each row's own genotype back through the codes reproduces the matrix.
    rebuilt = design.matrix.copy()
    rebuilt[:, design.sensitive_columns] = design.sensitive_codes[
        ds.x[:, ds.sensitive].astype(int)]
    np.testing.assert_array_equal(rebuilt, design.matrix)
    # Full column rank once an intercept is added.
    with_bias = np.concatenate([np.ones((1741, 1), np.float32), design.matrix], axis=1)
    assert np.linalg.matrix_rank(with_bias.astype(np.float64)) == 16
