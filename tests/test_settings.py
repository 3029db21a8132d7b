"""Each setting is declared once: the validator, the parameters and the widgets all follow the declaration."""

from __future__ import annotations

import pytest
from conftest import make_sim

from leg_sim import catalogue, config
from leg_sim.config import ConfigError, load_config
from leg_sim.engine import Simulation
from leg_sim.model import House
from leg_sim.settings import HOUSE_SETTINGS, KINDS, SETTINGS, Setting, defaults, house_setting, live_settings, setting
from leg_sim.ui.controls import Controls, setting_widget
from leg_sim.ui.readmodel import ReadModel


def test_every_declaration_is_complete():
    keys = [s.key for s in SETTINGS] + [s.key for s in HOUSE_SETTINGS]
    assert len(keys) == len(set(keys))
    for s in SETTINGS + HOUSE_SETTINGS:
        assert s.kind in KINDS and s.doc and not s.doc.endswith(".")
        if s.kind in ("integer", "number", "houses"):
            assert s.bounds is not None and s.bounds[0] <= s.default <= s.bounds[1], s.key
        if s.kind in ("choice", "switch"):
            assert s.default in s.choices, s.key


def test_simulation_parameters_come_from_the_declarations():
    for s in SETTINGS:
        if s.name not in Simulation.param:
            continue
        p = Simulation.param[s.name]
        assert p.default == s.default and p.doc == s.full_doc and p.label == s.full_label, s.key
        if s.bounds is not None:
            assert tuple(p.bounds) == tuple(s.bounds), s.key
        assert p.constant == (not s.live), s.key  # a setting that is not live cannot change while running
    assert {s.name for s in live_settings()} <= set(Simulation.param)
    assert Simulation.param["update_interval_ms"].label == "Update interval (ms)"


def test_house_parameters_come_from_the_declarations():
    for s in HOUSE_SETTINGS:
        p = House.param[s.key]
        assert p.doc == s.full_doc, s.key
        if s.bounds is not None:
            assert tuple(p.bounds) == tuple(s.bounds), s.key
    assert house_setting("appliances").choices == catalogue.NAMES  # the names come from the catalogue
    assert list(House.param["appliances"].objects) == list(catalogue.NAMES)


def test_widgets_take_range_step_and_presets_from_the_declarations():
    sim = make_sim()
    c = Controls(reader=ReadModel(sim), target=sim)
    interval = c.widgets["update_interval_ms"]
    s = setting("update_interval_ms")
    assert (interval.start, interval.end, interval.step) == (s.bounds[0], s.bounds[1], s.step)
    flex = c.widgets["flex_load_probability"]
    s = setting("flex_load_probability")
    assert (flex.start, flex.end, flex.step) == (s.bounds[0], s.bounds[1], s.step)
    houses = c.widgets["house_count"]
    assert (houses.start, houses.end) == setting("houses").widget_bounds
    assert set(setting("clock.speed_factor").presets) <= set(c.widgets["speed_factor"].values)
    assert list(c.widgets["pv_variation"].options) == list(setting("pv_variation").choices)
    assert [w.label for w in c.widgets.values()][:-1] == [s.full_label for s in live_settings()]


def test_config_defaults_are_the_declared_defaults():
    s = load_config({})
    for d in SETTINGS:
        assert s[d.key] == d.default, d.key
    assert defaults() == config.DEFAULTS


def test_a_new_key_needs_one_declaration_and_nothing_else(monkeypatch):
    extra = Setting("clock.warmup_s", "integer", 5, "Demo key", unit="s", bounds=(1, 10))
    monkeypatch.setattr(config, "SETTINGS", (*SETTINGS, extra))
    assert load_config({})["clock.warmup_s"] == 5
    assert load_config({"clock": {"warmup_s": 7}}).clock.warmup_s == 7
    with pytest.raises(ConfigError, match=r"clock.warmup_s = 11 is out of range; allowed: integer 1 to 10 \[s\]"):
        load_config({"clock": {"warmup_s": 11}})
    p = extra.parameter()
    assert p.bounds == (1, 10) and p.label == "Warmup s (s)" and p.doc == "Demo key. [s]"
    assert setting_widget(extra, 5).end == 10



def test_every_per_house_key_is_a_house_parameter_and_an_undrawn_key_takes_its_default():
    from leg_sim.model import Community, default_house_attributes

    assert {s.key for s in HOUSE_SETTINGS} <= set(House.param)
    drawn = {k: v[0] for k, v in default_house_attributes(3, 0, 1).items()}
    del drawn["tilt_deg"]  # as if the seed did not draw this key
    house = Community(seed=3)._make_house(0, drawn)
    assert house.tilt_deg == house_setting("tilt_deg").default
    assert house.pv_peak_kwp == float(drawn["pv_peak_kwp"])
