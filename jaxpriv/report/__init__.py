"""Reports: Markdown (and, later, HTML) with tables and PNG plots."""

from jaxpriv.report._markdown import rows_table
from jaxpriv.report._markdown import write_markdown

__all__ = ["rows_table", "write_markdown"]
