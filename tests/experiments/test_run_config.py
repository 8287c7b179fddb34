"""`jaxpriv run` configuration: TOML to RunConfig, defaults documented, unknown keys."""

import pathlib

import pytest

from jaxpriv.experiments import DefenseSetting, RunConfig, default_toml, load_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_default_toml_documents_exactly_the_defaults(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(default_toml())
    assert load_config(path) == RunConfig()
    assert load_config(None) == RunConfig()
    # configs/default.toml is that text (regenerate it when a default changes).
    assert (ROOT / "configs" / "default.toml").read_text() == default_toml()


def test_every_config_in_configs_loads():
    for path in sorted((ROOT / "configs").glob("*.toml")):
        load_config(path)
        load_config(path, smoke=True)


def test_smoke_table_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('epochs = 50\nhidden = [128, 64]\n[smoke]\nepochs = 2\n'
                    '[[defended]]\nl2 = 0.1\noutput = ["top_k:1", "round:2"]\n')
    full = load_config(path)
    assert full.epochs == 50 and full.hidden == (128, 64) and not full.smoke
    assert full.defended == (DefenseSetting(l2=0.1, output=("top_k:1", "round:2")),)
    assert full.defended[0].name == "l2=0.1+top_k(1)+round(2)"
    smoke = load_config(path, smoke=True)
    assert smoke.epochs == 2 and smoke.smoke and smoke.max_rows == 400
    assert load_config(path, smoke=True, overrides={"epochs": 7}).epochs == 7
    assert smoke.fingerprint() != full.fingerprint()
    assert full.fingerprint() == load_config(path, overrides={"families": []}).fingerprint()


@pytest.mark.parametrize("text, match", [
    ("defended = []\n", "at least one \\[\\[defended\\]\\]"),
    ("epoch = 3\n", r"Unknown key\(s\) in the config: epoch; known keys: .*epochs"),
    ("[smoke]\nbogus = 1\n", r"Unknown key\(s\) in \[smoke\]: bogus"),
    ("[[defended]]\nl3 = 1\n", r"defended\[0\]: l3; known keys: l2, name, output"),
    ("epochs = 'ten'\n", "Expected epochs to be an integer"),
    ("hidden = 5\n", "Expected hidden to be a list"),
    ("dataset = 'mnist'\n", "Unknown dataset='mnist'; expected one of"),
    ("families = ['nope']\n", "Unknown families='nope'"),
    ("[[defended]]\noutput = 'round:1'\n", "list of defence specs"),
    ("[[defended]]\noutput = ['blur:1']\n", "Unknown defense='blur'"),
    ("member_fraction = 0.7\nnonmember_fraction = 0.4\n", "member_fraction \\+ nonmember"),
    ("epochs = [\n", "not valid TOML"),
])
def test_bad_configs_name_the_problem(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_config(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="No config file"):
        load_config("/nonexistent/config.toml")


def test_cli_prints_config_and_reports_bad_options(capsys, tmp_path):
    from jaxpriv import cli

    assert cli.main(["run", "--print-config"]) == 0
    assert capsys.readouterr().out == default_toml()
    assert cli.main(["run", "--smoke", "--dataset", "mnist", "--out", str(tmp_path)]) == 2
    assert "Unknown dataset='mnist'" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = 3\nlearning_rat = 0.1\n")
    assert cli.main(["run", str(bad), "--out", str(tmp_path)]) == 2
    assert "learning_rat; known keys:" in capsys.readouterr().err
