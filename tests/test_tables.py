"""The small tables that notebook 01 plots: registered, checksummed, sourced and self-consistent."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_utils import data

TABLES = {
    "landmark_models": [
        "model",
        "year",
        "organisation",
        "domain",
        "objective",
        "parameters",
        "training_tokens",
        "training_flops",
        "training_data",
        "source",
    ],
    "accelerators": [
        "accelerator",
        "vendor",
        "year",
        "dense_tflops",
        "precision",
        "fp32_tflops",
        "source",
        "memory_gb",
        "memory_bandwidth_gbs",
        "tdp_w",
    ],
}
REGISTRY_KEYS = {"title", "kind", "file", "sha256", "description", "licence", "citation"}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_is_registered_with_its_checksum(name: str) -> None:
    entry = data.dataset_info(name)
    assert REGISTRY_KEYS <= set(entry), f"registry entry {name} lacks {REGISTRY_KEYS - set(entry)}"
    assert entry["kind"] == "table"
    path = data.table_path(name)  # raises if the sha256 does not match
    assert data.sha256_of_file(path) == entry["sha256"]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_has_its_columns_and_a_source_on_every_row(name: str) -> None:
    table = data.load_table(name)
    assert list(table.columns) == TABLES[name]
    assert len(table) >= 5
    assert table["source"].notna().all() and (table["source"].str.strip().str.len() > 0).all()
    key = TABLES[name][0]
    assert table[key].is_unique, f"duplicate {key} in {name}"
    assert table["year"].between(1990, 2030).all()


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_file_starts_with_comment_lines(name: str) -> None:
    lines = data.table_path(name).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#"), "the table explains itself in '#' comment lines"
    header = next(line for line in lines if not line.startswith("#"))
    assert header.split(",") == TABLES[name]


def test_landmark_models_are_in_time_order_and_positive() -> None:
    table = data.load_table("landmark_models")
    assert table["year"].is_monotonic_increasing
    assert (table["parameters"] > 0).all()
    for column in ["training_tokens", "training_flops"]:
        assert (table[column].dropna() > 0).all()
    assert set(table["domain"]) <= {"vision", "language"}


def test_six_n_d_matches_every_published_compute() -> None:
    """Kaplan et al. (2020): C ~ 6 N D. Every row with N, D and C published must agree within 10%."""
    table = data.load_table("landmark_models").dropna(subset=["training_tokens", "training_flops"])
    assert len(table) >= 2, "at least GPT-3 and one other model publish N, D and C"
    ratio = 6 * table["parameters"] * table["training_tokens"] / table["training_flops"]
    assert np.all(np.abs(ratio - 1) < 0.1), dict(zip(table["model"], ratio.round(3)))


def test_gpt3_row_holds_the_figures_of_brown_et_al_2020() -> None:
    gpt3 = data.load_table("landmark_models").set_index("model").loc["GPT-3"]
    assert gpt3["parameters"] == 175e9
    assert gpt3["training_tokens"] == 300e9
    assert gpt3["training_flops"] == pytest.approx(3.14e23)
    assert "Brown" in gpt3["source"]


def test_chinchilla_and_palm_rows_hold_their_published_compute() -> None:
    """Hoffmann et al. (2022): Chinchilla used Gopher's budget, 5.76e23 FLOPs.

    Chowdhery et al. (2022), Table 21: 2527.2e21 FLOPs for PaLM 540B.
    """
    table = data.load_table("landmark_models").set_index("model")
    chinchilla, palm = table.loc["Chinchilla"], table.loc["PaLM"]
    assert chinchilla["training_flops"] == pytest.approx(5.76e23)
    assert palm["training_flops"] == pytest.approx(2.5272e24, rel=1e-3)
    assert "Gopher" in chinchilla["source"] and "5.76e23" in chinchilla["source"]
    assert "Table 21" in palm["source"]
    # both enter the C ~ 6ND check of notebook 01 (and test_six_n_d_matches_every_published_compute)
    complete = table.dropna(subset=["training_tokens", "training_flops"]).index
    assert {"GPT-3", "Chinchilla", "PaLM", "Llama 3.1 405B"} <= set(complete)


def test_accelerators_get_faster_with_each_generation() -> None:
    table = data.load_table("accelerators")
    assert (table["dense_tflops"] > 0).all()
    for vendor, chips in table.groupby("vendor"):
        chips = chips.sort_values("year")
        assert chips["dense_tflops"].is_monotonic_increasing, vendor
    nvidia = table[table["vendor"] == "NVIDIA"]
    assert (nvidia["dense_tflops"] >= nvidia["fp32_tflops"]).all(), "16-bit peak is at least the fp32 peak"


def test_an_edited_table_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    shutil.copy(data.registry_path(), tmp_path / "data" / "registry.json")
    copy = tmp_path / "data" / "landmark_models.csv"
    shutil.copy(data.table_path("landmark_models"), copy)
    monkeypatch.setattr(data.catalog, "course_root", lambda: tmp_path)
    assert isinstance(data.load_table("landmark_models"), pd.DataFrame)  # the untouched copy loads
    copy.write_text(copy.read_text(encoding="utf-8").replace("175000000000", "1750000000000"), encoding="utf-8")
    with pytest.raises(data.DatasetChecksumError, match="does not match the registry"):
        data.load_table("landmark_models")
