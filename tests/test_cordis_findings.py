"""The CORDIS findings (consortia.cordis_findings) on a hand-made run: counts worked out
by hand, intervals against statsmodels."""

import json

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from consortia import cordis_findings


@pytest.fixture
def run():
    """Eight consortia: four enterprise-led (two in SC1+LEIT), four university-led."""
    consortia = pd.DataFrame(
        {"consortium_id": list("abcdefgh"),
         "lead_type": ["enterprise"] * 4 + ["university"] * 4,
         "founded_year": [2015, 2015, 2018, 2018, 2015, 2016, 2018, 2018],
         "scheme_or_part": ["LEIT+SC1", "LEIT+SC1", "SC1", "", "SC1", "SC1", "LEIT", "SC1"]}
    )  # fmt: skip
    start = consortia[["consortium_id", "founded_year"]].assign(year=consortia["founded_year"])
    panel = pd.concat([start, start.assign(year=start["year"] + 1)]).assign(
        lead_decision_weight=lambda p: p["consortium_id"].map(dict(zip("abcdefgh",
            [0.5, 0.3, 0.4, 0.2, 0.1, 0.2, 0.3, 0.2]))),
        repeat_tie_share=lambda p: p["consortium_id"].map(dict(zip("abcdefgh",
            [0.0, 0.2, 0.1, 0.3, 0.5, 0.4, 0.0, 0.6]))),
        lead_prior_led=lambda p: p["consortium_id"].map(dict(zip("abcdefgh",
            [0, 0, 2, 1, 0, 3, 1, 2]))),
        lead_prior_partners=10,
    )  # fmt: skip
    panel.loc[panel["year"] > panel["founded_year"], "repeat_tie_share"] = 0.99  # not the start
    tasks = consortia[["consortium_id"]].assign(
        duration_years=[3.0, 2.0, 4.0, 1.0, 4.0, 5.0, 3.0, 4.0]
    )
    return consortia, panel, tasks


def test_findings_count_what_was_built_by_hand(run):
    result = cordis_findings.findings(*run, history_years=3)
    led = result["enterprise_led"]
    assert (led["overall"]["k"], led["overall"]["n"]) == (4, 8)
    low, high = proportion_confint(4, 8, alpha=0.05, method="wilson")
    assert led["overall"]["ci"] == pytest.approx([low, high])
    # a consortium in two parts counts in each; one without a part is listed as such
    assert led["by_part"]["SC1"] == {"consortia": 6, "enterprise_led": 3, "share": 0.5}
    assert led["by_part"]["LEIT"] == {"consortia": 3, "enterprise_led": 2, "share": 2 / 3}
    assert led["by_part"][cordis_findings.NO_PART]["consortia"] == 1
    assert led["by_start_year"][2018]["enterprise_led"] == 2

    weight = result["lead_contribution_share"]["enterprise"]
    stats = DescrStatsW([0.5, 0.3, 0.4, 0.2])
    assert weight["mean"] == pytest.approx(0.35)
    assert weight["ci"] == pytest.approx(list(stats.tconfint_mean(alpha=0.05)))
    assert result["duration_years"]["median_by_lead_type"] == {"enterprise": 2.5, "university": 4.0}

    network = result["network"]["all"]
    # measured in the start year, not later ones
    assert network["enterprise"]["repeat_tie_share"]["mean"] == pytest.approx(0.15)
    assert network["university"]["lead_had_led_before"]["k"] == 3
    diff = network["enterprise_minus_university"]["repeat_tie_share"]
    welch = CompareMeans(DescrStatsW([0.0, 0.2, 0.1, 0.3]), DescrStatsW([0.5, 0.4, 0.0, 0.6]))
    assert diff["difference"] == pytest.approx(0.15 - 0.375)
    assert diff["ci"] == pytest.approx(list(welch.tconfint_diff(alpha=0.05, usevar="unequal")))
    # with 3 years of history: the 2018 consortia only
    assert result["network"]["started_from"] == 2018
    assert result["network"]["with_history"]["enterprise"]["consortia"] == 2


def test_the_page_and_figure_are_drawn_from_the_numbers(run, tmp_path):
    consortia, panel, tasks = run
    for name, frame in (("consortia", consortia), ("panel", panel), ("tasks", tasks)):
        frame.to_parquet(tmp_path / f"{name}.parquet")
    cordis_findings.findings_step(
        tmp_path / "consortia.parquet", tmp_path / "panel.parquet", tmp_path / "tasks.parquet",
        3, tmp_path / "f.json", tmp_path / "f.md", tmp_path / "figure",
    )  # fmt: skip
    page = (tmp_path / "f.md").read_text()
    assert "Overall: 50.0% (4 of 8; " in page
    assert "| university | 4 | 20.0% |" in page  # the lead's mean contribution share
    caption = (tmp_path / "figure.txt").read_text()
    assert "Overall 50.0% of 8 consortia" in caption and (tmp_path / "figure.png").is_file()
    assert json.loads((tmp_path / "f.json").read_text())["consortia"] == 8
