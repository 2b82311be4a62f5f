"""Output formats, in one registry (``registry``): report formats (``report``) and findings formats
(``findings``); a new format is one module that registers its writer."""

from costmodel.formats.registry import FORMATS, Format, format_names, register_format, writer

__all__ = ["FORMATS", "Format", "format_names", "register_format", "writer"]
