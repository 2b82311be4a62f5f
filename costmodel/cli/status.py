"""The command line's exit statuses: success (and nothing found), findings or over budget, usage or any other
error (one line on stderr)."""

__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK"]

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
