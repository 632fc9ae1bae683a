"""The model lifecycle: candidates compared with the champion, promoted or refused, rolled back, and the
challenger scored in the shadow (`docs/lifecycle.md`). `promote.py` is its entry point."""
