"""Upload what the Docker Space needs to the Hugging Face Space named by HF_SPACE_ID.

Run by the deploy job with HF_TOKEN in the environment; the token is never printed.
Only the files the image is built from are sent (`ship.txt`, resolved by `ship.py`: no tests, data
or training code outside the packages), and files that disappeared from the repository are deleted
from the Space.
"""

from __future__ import annotations

import os
import sys

import ship  # .github/ship.py, beside this file
from huggingface_hub import HfApi


def main() -> int:
    token, space = os.environ.get("HF_TOKEN"), os.environ.get("HF_SPACE_ID")
    if not token or not space:
        print("HF_TOKEN or HF_SPACE_ID missing: nothing deployed", file=sys.stderr)
        return 1
    commit = HfApi(token=token).upload_folder(
        folder_path=str(ship.ROOT),
        repo_id=space,
        repo_type="space",
        allow_patterns=ship.files(),  # exactly the shipped files (ship.txt)
        delete_patterns=ship.hub_patterns(),  # and the Space's other files under the same patterns go
        commit_message=f"Deploy {os.environ.get('GITHUB_SHA', 'local')[:12]}",
    )
    print(f"deployed to https://huggingface.co/spaces/{space}: {commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
