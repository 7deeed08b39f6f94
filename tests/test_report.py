"""`snakemake --report` on a finished demo run: one HTML file holding every report item's
caption and the front page (report/workflow.rst)."""

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.workflow


def plain(text: str) -> str:
    """Report HTML or a caption title reduced to its words: JSON escapes decoded, tags and
    reStructuredText markup dropped, entities unescaped, whitespace collapsed."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda code: chr(int(code.group(1), 16)), text)
    text = text.replace("\\n", " ").replace('\\"', '"').replace("\\/", "/")
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return " ".join(text.replace("``", "").replace("*", "").split())


@pytest.fixture(scope="module")
def report(demo_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    command = [sys.executable, "-m", "snakemake", "--nolock", "--config",
               f"results={demo_run.results}", "--report", str(path)]
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return path.read_text(encoding="utf-8")


def registered_captions(results: Path) -> dict[str, str]:
    """caption file -> title for every report item of the run (from provenance.json, which
    reads the report() flags off the rules)."""
    provenance = json.loads((results / "provenance.json").read_text())
    captions = {
        record["caption"]: record["title"]
        for record in provenance["outputs"].values()
        if record.get("caption")
    }
    for leaf in ("provenance", "replication"):
        for output in provenance["rules"][leaf]["outputs"]:
            captions[output["caption"]] = output["title"]
    return captions


def test_report_contains_every_registered_caption_title(demo_run, report):
    captions = registered_captions(demo_run.results)
    assert {"report/data_table1.rst", "report/data_quarantine.rst"} <= set(captions)
    text = plain(report)
    missing = {caption: title for caption, title in captions.items() if plain(title) not in text}
    assert not missing, f"caption titles absent from the report: {missing}"


def test_every_caption_has_a_title_line(demo_run):
    for caption, title in registered_captions(demo_run.results).items():
        first = (ROOT / caption).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("**") and first.rstrip().endswith("**"), caption
        assert len(title) > 10, caption


def test_front_page_names_the_dataset_and_the_se_convention(report):
    text = plain(report)
    assert "How to read the standard errors" in text
    assert "data/raw/demo" in text
    assert "CR1" in text


def test_data_items_are_in_the_data_category(demo_run, report):
    provenance = json.loads((demo_run.results / "provenance.json").read_text())
    data_items = [
        r
        for r in provenance["outputs"].values()
        if r.get("caption", "").startswith("report/data_")
    ]
    assert len(data_items) == 6
    assert {r["category"] for r in data_items} == {"Data"}
    assert "Replication" in report and "Data" in report
