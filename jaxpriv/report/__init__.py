"""Reports: the cross-run results table, PNG plots, Markdown and HTML reports."""

from jaxpriv.report._plots import HEADLINE_METRICS
from jaxpriv.report._plots import headline
from jaxpriv.report._plots import image_grid
from jaxpriv.report._plots import privacy_utility_plot
from jaxpriv.report._plots import roc_plot
from jaxpriv.report._table import append_rows
from jaxpriv.report._table import read_table
from jaxpriv.report._table import rows_table
from jaxpriv.report._write import build_blocks
from jaxpriv.report._write import render_html
from jaxpriv.report._write import render_markdown
from jaxpriv.report._write import write_all
from jaxpriv.report._write import write_markdown

__all__ = [
    "HEADLINE_METRICS",
    "append_rows",
    "build_blocks",
    "headline",
    "image_grid",
    "privacy_utility_plot",
    "read_table",
    "render_html",
    "render_markdown",
    "roc_plot",
    "rows_table",
    "write_all",
    "write_markdown",
]
