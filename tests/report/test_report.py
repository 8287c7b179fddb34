"""Report pieces: the cross-run table, headline metrics, plots, HTML escaping."""

import matplotlib.image
import numpy as np

from jaxpriv import report


def test_table_appends_runs_and_replaces_a_rerun(tmp_path):
    path = tmp_path / "t.csv"
    a = [{"family": "m", "attack": "x", "target": "undefended", "auc": 0.9, "roc": {"fpr": [0]}}]
    b = [{"family": "m", "attack": "x", "target": "defended", "fidelity": 0.5}]
    report.append_rows(path, a, "run1")
    report.append_rows(path, b, "run2")
    table = report.append_rows(path, a + a, "run1")  # run1 again: replaced, not duplicated
    assert [r["run"] for r in report.read_table(path)] == ["run2", "run1", "run1"]
    assert table[1]["auc"] == "0.9" and table[0]["auc"] == "" and "roc" not in table[0]
    assert list(table[0])[:4] == ["run", "target", "family", "attack"]


def test_headline_metric():
    assert report.headline({"headline": "tpr", "tpr": 0.1, "auc": 0.7}) == ("tpr", 0.1)
    assert report.headline({"auc": "0.7"}) == ("auc", 0.7)
    assert report.headline({"fidelity": float("nan"), "accuracy": 1}) == ("accuracy", 1.0)
    assert report.headline({"attack": "x"}) is None


def test_plots_write_decodable_pngs(tmp_path):
    rows = [{"family": "m", "attack": "x", "defense": d, "auc": a, "target_test_accuracy": u}
            for d, a, u in (("none", 0.8, 0.95), ("l2", 0.6, 0.9))]
    for p in (report.privacy_utility_plot(rows, tmp_path / "pu.png"),
              report.roc_plot([("a", [0, 0.01, 1], [0, 0.2, 1])], tmp_path / "roc.png"),
              report.image_grid(tmp_path / "g.png", [("orig", np.zeros((3, 4, 4))),
                                                     ("rec", np.ones((3, 4, 4)))],
                                col_titles=["0", "1", "2"])):
        assert matplotlib.image.imread(p).shape[2] in (3, 4)
    assert report.privacy_utility_plot([{"attack": "x"}], tmp_path / "none.png") is None


def test_html_escapes_row_values():
    blocks = [("h1", "t"), ("table", [{"attack": "<script>", "target": "a&b"}]),
              ("img", "x", "figures/a b.png")]
    page = report.render_html(blocks)
    assert "<script>" not in page and "&lt;script&gt;" in page and "a&amp;b" in page
    assert "| &lt;script&gt;" not in report.render_markdown(blocks)
