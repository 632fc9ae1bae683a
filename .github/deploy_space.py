"""Upload what the Docker Space needs to the Hugging Face Space named by HF_SPACE_ID.

Run by the deploy job with HF_TOKEN in the environment; the token is never printed.
Only the files the image is built from are sent (no tests, data or plots), and files that
disappeared from the repository are deleted from the Space.
"""

from __future__ import annotations

import os
import sys

from huggingface_hub import HfApi

SPACE_FILES = [
    "README.md",
    "Dockerfile",
    ".dockerignore",
    "requirements-serve.txt",
    "app_gradio.py",
    "scoring/*.py",
    "api/*.py",
    "models/*.pkl",
    "models/*.txt",
    "models/*.json",
    # every file the manifest lists is checked at start: the ONNX export, the report and its charts too
    "models/*.onnx",
    "models/*.html",
    "models/*.png",
]


def main() -> int:
    token, space = os.environ.get("HF_TOKEN"), os.environ.get("HF_SPACE_ID")
    if not token or not space:
        print("HF_TOKEN or HF_SPACE_ID missing: nothing deployed", file=sys.stderr)
        return 1
    commit = HfApi(token=token).upload_folder(
        folder_path=".",
        repo_id=space,
        repo_type="space",
        allow_patterns=SPACE_FILES,
        delete_patterns=SPACE_FILES,
        commit_message=f"Deploy {os.environ.get('GITHUB_SHA', 'local')[:12]}",
    )
    print(f"deployed to https://huggingface.co/spaces/{space}: {commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
