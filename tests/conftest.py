"""Test-wide settings: every stage hand-off is checked against its declaration (schema.validated)."""

import os

os.environ.setdefault("SELFEVAL_VALIDATE_STAGES", "1")
