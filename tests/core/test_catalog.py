"""The shipped catalog and the validation of catalog files."""

from __future__ import annotations

import tomllib

import pytest

from core.catalog import DEFAULT_CATALOG_PATH, CatalogError, load_catalog, parse_catalog

SHIPPED = [
    "demo",
    "omni-1.2-flash",
    "omni-1.1-flash",
    "veo-3.1",
    "veo-3.1-fast",
    "veo-3.1-lite",
    "fal-veo-3.1",
    "fal-veo-3.1-fast",
    "fal-kling-3",
]


def raw() -> dict:
    return tomllib.loads(DEFAULT_CATALOG_PATH.read_text())


def test_shipped_catalog_has_the_public_models():
    assert load_catalog().names() == SHIPPED


def test_shipped_limits_match_the_provider_reference():
    c = load_catalog()
    omni = c.get("omni-1.2-flash")
    assert (omni.durations[0], omni.durations[-1]) == (3, 15) and omni.audio == "always"
    assert c.get("omni-1.1-flash").durations[-1] == 10
    veo = c.get("veo-3.1")
    assert veo.durations == (4, 6, 8) and veo.price_per_second("4k") == 0.60
    assert veo.rules[0].resolutions == ("1080p", "4k") and veo.rules[0].durations == (8,)
    assert "4k" not in c.get("veo-3.1-lite").resolutions
    assert c.get("fal-kling-3").duration_format == "string" and not c.get("fal-kling-3").send_resolution
    assert c.get("demo").price_per_second("720p") == 0.0


def test_cost_estimate_uses_the_price_for_the_resolution():
    veo = load_catalog().get("veo-3.1-fast")
    assert veo.estimate_cost(8, "1080p") == pytest.approx(0.96)
    assert veo.estimate_cost(4, "720p") == pytest.approx(0.40)


def test_override_file_replaces_the_shipped_one(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[models.tiny]\nprovider="demo"\nprovider_model_id="d"\ndurations=[2]\n'
        'aspect_ratios=["16:9"]\nresolutions=["360p"]\naudio="none"\nusd_per_second=0\n'
        "expected_latency_s=1\n"
    )
    assert load_catalog(path).names() == ["tiny"]


@pytest.mark.parametrize(
    ("model", "field", "value", "message"),
    [
        ("veo-3.1", "provider", "sora", "field 'provider'"),
        ("veo-3.1", "durations", [], "field 'durations'"),
        ("veo-3.1", "durations", ["8s"], "field 'durations'"),
        ("veo-3.1", "aspect_ratios", ["4:3"], "field 'aspect_ratios'"),
        ("veo-3.1", "resolutions", ["8k"], "field 'resolutions'"),
        ("veo-3.1", "audio", "loud", "field 'audio'"),
        ("veo-3.1", "usd_per_second", {"720p": -1}, "field 'usd_per_second'"),
        ("veo-3.1", "usd_per_second", {"720p": 0.4}, "no price for 1080p, 4k"),
        ("veo-3.1", "expected_latency_s", 0, "field 'expected_latency_s'"),
        ("veo-3.1", "default_duration", 5, "field 'default_duration'"),
        ("veo-3.1", "seed", "yes", "field 'seed'"),
        ("veo-3.1", "colour", "red", "field 'colour': unknown field"),
        ("veo-3.1", "rules", [{"resolutions": ["8k"], "durations": [8], "message": "m"}], "field 'rules[0]'"),
        ("fal-kling-3", "duration_format", "minutes", "field 'duration_format'"),
    ],
)
def test_invalid_entries_name_the_model_and_the_field(model, field, value, message):
    doc = raw()
    doc["models"][model][field] = value
    with pytest.raises(CatalogError) as err:
        parse_catalog(doc)
    assert f"model '{model}'" in str(err.value) and message in str(err.value)


def test_missing_required_field_is_named():
    doc = raw()
    del doc["models"]["demo"]["provider_model_id"]
    with pytest.raises(CatalogError, match="model 'demo', field 'provider_model_id': is required"):
        parse_catalog(doc)


def test_broken_toml_and_missing_file_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[models.x\n")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "nope.toml")
