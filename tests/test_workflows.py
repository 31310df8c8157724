"""The GitHub workflows: linted by actionlint, the book deployed with the official Pages
actions from the committed executed notebooks, tests run by `make test` with caches; the
launch buttons (Colab, Binder, Thebe live code) configured."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def _actionlint() -> str:
    exe = Path(sys.executable).parent / "actionlint"
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    assert found, "actionlint is not installed: `make install` installs it"
    return found


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _uses(workflow: dict) -> list[str]:
    return [s["uses"].split("@")[0] for job in workflow["jobs"].values() for s in job.get("steps", []) if "uses" in s]


def test_actionlint_passes_on_the_workflows():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} == {"test.yml", "book.yml"}
    out = subprocess.run([_actionlint(), "-no-color", *map(str, files)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_context }}\n      - uses: actions/checkout\n")
    out = subprocess.run([_actionlint(), "-no-color", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0 and "bad.yml" in out.stdout


def test_book_workflow_deploys_with_the_official_pages_actions():
    wf = _load("book.yml")
    assert _uses(wf) == ["actions/checkout", "actions/setup-python", "actions/configure-pages",
                         "actions/upload-pages-artifact", "actions/deploy-pages"]
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build = [s.get("run", "") for s in wf["jobs"]["build"]["steps"]]
    assert "make book" in build and "make reproduce" not in " ".join(build)
    upload = next(s for s in wf["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html"
    assert wf["jobs"]["deploy"]["environment"]["name"] == "github-pages"
    # built from the committed executed notebooks: the book never executes one
    assert yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["execute_notebooks"] == "off"


def test_test_workflow_runs_make_test_with_pip_and_data_caches():
    wf = _load("test.yml")
    job = wf["jobs"]["test"]
    assert job["runs-on"].startswith("ubuntu")
    steps = job["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip"
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == ".data" and job["env"]["KDCORE_DATA"].endswith("/.data")
    assert [s.get("run") for s in steps][-1] == "make test"


@pytest.mark.parametrize("key", ["colab_url", "binderhub_url", "thebe"])
def test_launch_buttons(key):
    buttons = yaml.safe_load((ROOT / "_config.yml").read_text())["launch_buttons"]
    assert buttons[key]
