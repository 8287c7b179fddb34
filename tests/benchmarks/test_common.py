"""benchmarks/_common.py: the options every benchmark shares."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
import _common  # noqa: E402


def test_cases_default_to_all_and_keep_the_given_order():
    cases = ("a", "b", "c")
    assert _common.parse_args("x", [], cases=cases).cases == ["a", "b", "c"]
    assert _common.parse_args("x", ["--cases", "c,a"], cases=cases).cases == ["c", "a"]
    assert not hasattr(_common.parse_args("x", []), "cases")


@pytest.mark.parametrize("given", ["a,nosuch", ","])
def test_unknown_or_empty_cases_are_refused_with_the_known_ones(given, capsys):
    with pytest.raises(SystemExit) as err:
        _common.parse_args("x", ["--cases", given], cases=("a", "b"))
    assert err.value.code == 2
    msg = capsys.readouterr().err
    assert "Expected --cases from a, b" in msg


def test_cases_with_smoke_are_refused_where_the_smoke_run_has_its_own(capsys):
    cases = ("a", "b")
    assert _common.parse_args("x", ["--smoke"], cases=cases, smoke_cases=False).cases == ["a", "b"]
    assert _common.parse_args("x", ["--smoke", "--cases", "b"], cases=cases).cases == ["b"]
    with pytest.raises(SystemExit) as err:
        _common.parse_args("x", ["--smoke", "--cases", "b"], cases=cases, smoke_cases=False)
    assert err.value.code == 2
    assert "Expected --cases without --smoke" in capsys.readouterr().err
