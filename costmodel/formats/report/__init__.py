"""Report formats: each module registers one (``costmodel.formats.registry``); the table layout they share is
``table``."""

from costmodel.formats.report import csv_format, html_format, json_format, rich_format, text
from costmodel.formats.report.table import SORT_KEYS, TableView

__all__ = ["SORT_KEYS", "TableView", "csv_format", "html_format", "json_format", "rich_format", "text"]
