"""Kept for imports from `selfeval.report.atomic`; the helpers live in `selfeval.atomic`."""

from selfeval.atomic import atomic_path, safe_file_name, safe_filename, unique_filenames, unique_sheet_names

__all__ = ["atomic_path", "safe_file_name", "safe_filename", "unique_filenames", "unique_sheet_names"]
