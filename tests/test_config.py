"""Configs: presets resolve, overrides apply, bad keys and values fail with one
line naming the key."""

import pytest
import yaml

from aekit.errors import ConfigError
from aekit.models.presets import get_preset, list_presets
from aekit.training.config import resolve_config


def test_every_preset_resolves_and_has_a_description():
    names = [name for name, _ in list_presets()]
    assert {"fashion-ae", "dense-ae-32"} <= set(names)
    for name, description in list_presets():
        cfg = resolve_config(name)
        assert cfg.preset == name
        assert description and "\n" not in description
        assert cfg.data.name, f"{name} names no default dataset"


def test_fashion_ae_preset_matches_the_tutorial():
    cfg = resolve_config("fashion-ae")
    assert cfg.data.name == "fashion-mnist"
    assert cfg.model.encoder.widths == [256, 128] and cfg.model.encoder.activation == "relu"
    assert cfg.model.bottleneck.dim == 20
    assert type(cfg.model.likelihood).TYPE == "bernoulli"
    assert (cfg.train.optimizer, cfg.train.lr, cfg.train.batch_size) == ("adam", 1e-3, 512)


def test_overrides_layer_in_order(tmp_path):
    config_file = tmp_path / "my.yaml"
    config_file.write_text(yaml.safe_dump({"train": {"epochs": 7, "lr": 0.01}, "model": {"bottleneck": {"dim": 8}}}))
    cfg = resolve_config("fashion-ae", config_file, overrides={"train.epochs": 3},
                         sets=["encoder.widths=[512, 256]", "train.lr=0.002"])
    assert cfg.train.epochs == 3            # explicit option beats the file
    assert cfg.train.lr == 0.002            # --set beats everything
    assert cfg.model.bottleneck.dim == 8    # the file beats the preset
    assert cfg.model.encoder.widths == [512, 256]   # shorthand key resolved to model.encoder
    assert cfg.train.batch_size == 512      # untouched preset value stays


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = resolve_config("dense-ae-32", sets=["train.seed=5"])
    path = tmp_path / "config.yaml"
    path.write_text(cfg.to_yaml())
    again = resolve_config(config_file=path)
    assert again.to_dict() == cfg.to_dict()


def test_changing_a_part_type_replaces_its_options():
    cfg = resolve_config("fashion-ae", sets=["model.likelihood={type: gaussian, scale: 0.1}"])
    assert type(cfg.model.likelihood).TYPE == "gaussian" and cfg.model.likelihood.scale == 0.1


@pytest.mark.parametrize("sets, message", [
    (["model.encoder.widht=[3]"], "model.encoder.widht: unknown key (did you mean 'widths'?); valid keys here are"),
    (["model.encoder.widths=abc"], "model.encoder.widths: expected a list of integers, got 'abc'"),
    (["train.lr=-1"], "train: lr: the learning rate must be a positive finite number, got -1"),
    (["train.rmsprop_alpha=1.5"], "rmsprop_alpha: must be between 0 and 1"),
    (["train.lr=fast"], "train.lr: expected a number, got 'fast'"),
    (["train.optimizer=adamm"], "train.optimizer: expected one of 'adam'"),
    (["model.likelihood.type=poisson"], "model.likelihood.type: unknown likelihood 'poisson'; choose one of"),
    (["nosuchkey=1"], "--set nosuchkey: unknown key"),
    (["train.epochs"], "expected key=value"),
])
def test_bad_config_gives_one_line_naming_the_key(sets, message):
    with pytest.raises(ConfigError) as err:
        resolve_config("fashion-ae", sets=sets)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_unknown_preset_and_missing_config_file():
    with pytest.raises(ConfigError, match="unknown preset 'nope'.*aekit presets"):
        resolve_config("nope")
    with pytest.raises(ConfigError, match="config file .*missing.yaml not found"):
        resolve_config(config_file="missing.yaml")


def test_get_preset_returns_a_copy():
    raw = get_preset("fashion-ae")
    raw["train"]["lr"] = 99
    assert get_preset("fashion-ae")["train"]["lr"] == 1e-3


def test_numbers_yaml_reads_as_strings_are_numbers_and_reach_the_optimizer():
    import torch

    from aekit.training.optim import make_optimizer

    # YAML 1.1 reads `2e-3` (no dot) as the string "2e-3".
    cfg = resolve_config("conv-ae-10", sets=["train.lr=2e-3", "train.rmsprop_alpha=0.9"])
    assert cfg.train.lr == 0.002
    opt = make_optimizer(cfg.train, [torch.nn.Parameter(torch.zeros(3))])
    assert isinstance(opt, torch.optim.RMSprop)
    assert opt.defaults["alpha"] == 0.9 and opt.defaults["lr"] == 0.002
