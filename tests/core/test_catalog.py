"""The shipped catalog and the validation of catalog files."""

from __future__ import annotations

import datetime as dt
import re
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
    "fal-kling-3-turbo",
    "fal-seedance-2",
    "fal-seedance-2-fast",
    "fal-wan-2.7",
    "fal-happyhorse-1",
    "comfy-wan-2.2-5b",
    "comfy-wan-2.2-i2v",
    "comfy-ltx-video",
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
        ("veo-3.1", "aspect_ratios", ["5:4"], "field 'aspect_ratios'"),
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
        ("omni-1.1-flash", "retires", "soon", "field 'retires': 'soon' is not a day like 2026-12-03"),
        ("omni-1.1-flash", "retires", 20261203, "field 'retires': must be a day"),
        (
            "omni-1.1-flash",
            "retires",
            dt.datetime(2026, 12, 3, 12, 0),
            "field 'retires': must be a day like 2026-12-03 (no time of day)",
        ),
        ("omni-1.1-flash", "replaced_by", "omni-9", "field 'replaced_by': 'omni-9' is not a model"),
        ("omni-1.1-flash", "replaced_by", "omni-1.1-flash", "field 'replaced_by': cannot name the model"),
        ("omni-1.1-flash", "replaced_by", 12, "field 'replaced_by': must be a string"),
        ("omni-1.2-flash", "replaced_by", "veo-3.1", "field 'replaced_by': needs 'retires'"),
        ("veo-3.1-lite", "confirmed", "no", "field 'confirmed': must be true or false"),
        ("fal-kling-3", "image_field", "start image", "field 'image_field'"),
        ("fal-kling-3", "image_aspect_ratio", "no", "field 'image_aspect_ratio'"),
        ("fal-wan-2.7", "image_model_id", None, "field 'image_model_id': is required for a fal model"),
        ("veo-3.1", "audio", "off", "field 'audio': 'off' (ask the model for no sound) is only"),
    ],
)
def test_invalid_entries_name_the_model_and_the_field(model, field, value, message):
    doc = raw()
    if value is None:
        del doc["models"][model][field]
    else:
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


# -- lifecycle and the newer fields -----------------------------------------------------------------


def test_omni_1_1_retires_on_the_reported_day_replaced_by_1_2_and_the_file_says_it_is_reported():
    c = load_catalog()
    omni = c.get("omni-1.1-flash")
    assert (omni.retires, omni.replaced_by) == (dt.date(2026, 12, 3), "omni-1.2-flash")
    assert "not confirmed by Google" in omni.notes
    section = DEFAULT_CATALOG_PATH.read_text().split('[models."omni-1.1-flash"]')[1].split("\n[")[0]
    assert "REPORTED" in section and "not confirmed by Google" in section


def test_a_model_is_retired_from_its_retire_day_on_not_before():
    omni = load_catalog().get("omni-1.1-flash")
    assert not omni.retired(dt.date(2026, 12, 2))
    assert omni.retired(dt.date(2026, 12, 3)) and omni.retired(dt.date(2027, 1, 1))
    assert not load_catalog().get("omni-1.2-flash").retired(dt.date(2099, 1, 1))


def test_offered_leaves_out_retired_models_only_from_their_day():
    c = load_catalog()
    assert "omni-1.1-flash" in [m.name for m in c.offered(dt.date(2026, 12, 2))]
    after = [m.name for m in c.offered(dt.date(2026, 12, 3))]
    assert "omni-1.1-flash" not in after and len(after) == len(SHIPPED) - 1


def test_retires_may_also_be_written_as_a_quoted_day():
    doc = raw()
    doc["models"]["omni-1.1-flash"]["retires"] = "2026-12-03"
    assert parse_catalog(doc).get("omni-1.1-flash").retires == dt.date(2026, 12, 3)


def test_successor_follows_replacements_that_retired_too():
    doc = raw()
    doc["models"]["omni-1.2-flash"]["retires"] = dt.date(2027, 6, 1)
    doc["models"]["omni-1.2-flash"]["replaced_by"] = "veo-3.1"
    c = parse_catalog(doc)
    assert c.successor("omni-1.1-flash", dt.date(2026, 12, 3)).name == "omni-1.2-flash"
    assert c.successor("omni-1.1-flash", dt.date(2027, 6, 1)).name == "veo-3.1"
    assert c.successor("veo-3.1", dt.date(2027, 6, 1)) is None


def test_replacements_that_go_round_in_a_loop_are_refused():
    doc = raw()
    doc["models"]["omni-1.2-flash"]["retires"] = dt.date(2027, 6, 1)
    doc["models"]["omni-1.2-flash"]["replaced_by"] = "omni-1.1-flash"
    with pytest.raises(CatalogError, match="replaced_by': the replacements go round in a loop"):
        parse_catalog(doc)


def test_veo_lite_is_kept_but_unconfirmed_with_a_note():
    c = load_catalog()
    lite = c.get("veo-3.1-lite")
    assert lite.confirmed is False and "third-party" in lite.notes
    assert [m.name for m in c.models.values() if not m.confirmed] == ["veo-3.1-lite"]


def test_new_aspect_ratios_are_catalog_values():
    c = load_catalog()
    assert set(c.get("fal-seedance-2").aspect_ratios) == {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"}
    assert c.get("demo").aspect_ratios == ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")


def test_fal_family_fields_of_the_shipped_entries():
    c = load_catalog()
    kling = c.get("fal-kling-3")
    assert kling.image_model_id == "fal-ai/kling-video/v3/standard/image-to-video"
    assert (kling.image_field, kling.image_aspect_ratio, kling.resolutions) == (
        "start_image_url",
        False,
        ("720p",),
    )
    assert c.get("fal-veo-3.1").image_field == "image_url"
    assert c.get("fal-seedance-2").duration_format == "string"
    assert (
        c.get("fal-wan-2.7").duration_format == "integer"
        and c.get("fal-happyhorse-1").duration_format == "integer"
    )
    assert c.get("fal-kling-3-turbo").image_input is False


def test_prices_per_resolution_of_the_new_entries():
    c = load_catalog()
    assert c.get("fal-wan-2.7").estimate_cost(10, "1080p") == pytest.approx(1.5)
    assert c.get("fal-wan-2.7").estimate_cost(10, "720p") == pytest.approx(1.0)
    assert c.get("fal-happyhorse-1").price_per_second("1080p") == pytest.approx(0.28)
    assert c.get("fal-seedance-2-fast").price_per_second("720p") == pytest.approx(0.2419)
    assert c.get("fal-kling-3-turbo").price_per_second("1080p") == pytest.approx(0.14)
    assert c.get("fal-kling-3").price_per_second("720p") == pytest.approx(0.126)


def test_a_silent_fal_variant_is_an_entry_with_audio_off_and_its_own_price():
    doc = raw()
    kling = {k: v for k, v in doc["models"]["fal-kling-3"].items() if k != "usd_per_second_silent"}
    doc["models"]["fal-kling-3-silent"] = {
        **kling,
        "audio": "off",
        "usd_per_second": 0.084,
    }
    spec = parse_catalog(doc).get("fal-kling-3-silent")
    assert spec.audio == "off" and spec.estimate_cost(5, "720p") == pytest.approx(0.42)


def test_silence_has_its_own_price_where_the_catalog_gives_one():
    spec = parse_catalog(raw()).get("fal-kling-3")
    assert spec.estimate_cost(5, "720p") == pytest.approx(0.63)
    assert spec.estimate_cost(5, "720p", audio=False) == pytest.approx(0.42)
    veo = parse_catalog(raw()).get("veo-3.1")  # no silent price for the demo: the same either way
    assert veo.estimate_cost(8, "4k", audio=False) == pytest.approx(3.2)


@pytest.mark.parametrize(
    ("model", "change", "message"),
    [
        ("omni-1.2-flash", {"usd_per_second_silent": 0.01}, "only a model whose audio is 'optional'"),
        ("fal-kling-3-turbo", {"end_frame": True}, "needs image_input = true"),
        ("demo", {"extension": "sideways"}, "'sideways' is not one of native, last_frame, none"),
        ("fal-kling-3-turbo", {"extension": "last_frame", "extension_max_s": 30}, "needs image_input"),
        ("fal-kling-3", {"extension": "native"}, "built for gemini, vertex models only"),
        ("demo", {"extension_max_s": 2}, "longer than one extension step"),
        ("demo", {"extension_durations": [3]}, "use this model's durations"),
        ("veo-3.1", {"extension_output": "half"}, "'half' is not one of continuation, whole"),
        ("fal-kling-3", {"end_frame_field": "end image"}, "is not a field name"),
        ("veo-3.1", {"permissive": {"personGeneration": "allow_all"}}, "built for fal models only"),
        ("fal-veo-3.1", {"permissive": {"safety_tolerance": ["6"]}}, "values must be strings, numbers"),
    ],
)
def test_creative_loop_fields_are_checked_at_start(model, change, message):
    doc = raw()
    doc["models"][model].update(change)
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_catalog(doc)


def test_extend_is_offered_where_the_catalog_says_how():
    catalog = parse_catalog(raw())
    assert catalog.get("demo").can_extend and catalog.get("demo").extension_steps == (2, 4, 6, 8, 10)
    assert catalog.get("omni-1.2-flash").extension_steps == tuple(range(3, 11))
    assert catalog.get("veo-3.1").extension_output == "whole"
    assert not catalog.get("fal-kling-3-turbo").can_extend  # no image input: nothing to continue from
