"""Notebook-level checks: bad papermill parameters fail before any work; the install cell
names the repository of _config.yml; reproduce stamps change with what they cover."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from kdcore.run import reproduce

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("params,name", [({"temperature": -1.0}, "temperature"),
                                         ({"dataset": "imagenet"}, "dataset"),
                                         ({"temperature": float("inf")}, "temperature"),
                                         ({"lr": 1e6}, "lr"),
                                         ({"bf16": "false"}, "bf16"),
                                         ({"temprature": 5.0}, "temprature")])
def test_invalid_papermill_parameter_fails_before_training(tmp_path, monkeypatch, params, name):
    import papermill

    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path / "results"))
    src = tmp_path / "kd_overview.ipynb"
    nb = jupytext.read(ROOT / "notebooks" / "kd_overview.py")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src)
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"), parameters=params,
                                   kernel_name="python3", progress_bar=False)
    assert "ConfigError" in str(err.value) and repr(name) in str(err.value)
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob("*.json"))


def test_every_chapter_installs_kdcore_from_the_configured_repository():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for src in sorted((ROOT / "notebooks").glob("*.py")):
        text = src.read_text()
        found = re.findall(r"git\+(https://[^\"']+?)(?:\.git)?[\"']", text)
        assert found == [url], f"{src.name}: install cell must use git+{url}.git"
        assert re.search(r'tags=\["parameters"', text), f"{src.name} has no parameters cell"
        assert (ROOT / "notebooks" / "params" / f"{src.stem}.yaml").exists(), f"{src.stem}: no paper profile"


def test_every_chapter_is_in_the_toc_and_paper_profiles_say_paper():
    toc = (ROOT / "_toc.yml").read_text()
    for name in reproduce.chapters(ROOT):
        if (ROOT / "book" / "papers" / f"{name}.ipynb").exists():
            assert f"book/papers/{name}" in toc
        assert yaml.safe_load((ROOT / "notebooks" / "params" / f"{name}.yaml").read_text())["profile"] == "paper"


def test_reproduce_stamp_covers_source_params_profile_and_kdcore(tmp_path):
    for part in ("notebooks/params", "kdcore"):
        (tmp_path / part).mkdir(parents=True)
    (tmp_path / "notebooks" / "ch.py").write_text("x = 1\n")
    (tmp_path / "notebooks" / "params" / "ch.yaml").write_text("profile: paper\n")
    (tmp_path / "kdcore" / "m.py").write_text("a = 1\n")
    base = reproduce.stamp(tmp_path, "ch", "paper")
    assert reproduce.stamp(tmp_path, "ch", "smoke") != base
    for rel, text in [("notebooks/ch.py", "x = 2\n"), ("notebooks/params/ch.yaml", "profile: paper\nlr: 1\n"),
                      ("kdcore/m.py", "a = 2\n")]:
        old = (tmp_path / rel).read_text()
        (tmp_path / rel).write_text(text)
        assert reproduce.stamp(tmp_path, "ch", "paper") != base, rel
        (tmp_path / rel).write_text(old)
    assert reproduce.stamp(tmp_path, "ch", "paper") == base


def test_mathjax_is_served_from_the_book_itself():
    """Formulas must render offline: Sphinx's mathjax_path names a file of the book's static folder."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    path = config["mathjax_path"]
    assert not path.startswith(("http:", "https:", "//")), path
    found = [ROOT / folder / path for folder in config["html_static_path"] if (ROOT / folder / path).is_file()]
    assert found, f"{path} is in none of {config['html_static_path']}"
    fonts = found[0].parent / "output" / "chtml" / "fonts" / "woff-v2"
    assert any(fonts.glob("*.woff")), f"the CHTML fonts are missing from {fonts}"
