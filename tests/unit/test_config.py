import pytest

from anyshot.config import list_presets, load_config
from anyshot.errors import ConfigError


def test_every_shipped_preset_loads():
    names = list_presets()
    assert "clswgan/synthetic" in names and "attribute-regression/synthetic" in names
    for name in names:
        cfg = load_config(name)
        assert cfg.method.name


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"dataa": {}}, "unknown key\\(s\\) 'dataa' in config; valid keys: data, method"),
        ({"data": {"name": "synthetic", "parms": {}}}, "'parms' in data"),
        ({"data": {"name": "synthetic", "params": {"n_clases": 3}}},
         "'n_clases' in data.params for dataset 'synthetic'; valid keys: n_classes"),
        ({"data": {"name": "imagenet"}}, "unknown dataset 'imagenet'; valid datasets: synthetic"),
        ({"method": {"name": "clswgan", "params": {"epoch": 3}}},
         "'epoch' in method 'clswgan'; valid keys: .*epochs"),
        ({"method": {"name": "clswgan", "params": {"classifier": {"lr2": 1}}}},
         "'lr2' in method 'clswgan'.classifier"),
        ({"method": {"name": "gan9000"}}, "unknown method 'gan9000'; valid methods: "),
        ({"objective": {"name": "lsgan"}},
         "unknown adversarial objective 'lsgan'; valid objectives: "),
        ({"evaluation": {"protocol": "best-on-test"}}, "protocol 'best-on-test' is unknown"),
        ({"evaluation": {"tasks": ["zsl", "detection"]}}, "unknown task 'detection'"),
        ({"evaluation": {"seeds": []}}, "seeds is empty"),
        ({"evaluation": {"seeds": "0"}}, "seeds has an invalid value"),
        ({"evaluation": {"validation": {"unseen_fraction": 1.5}}},
         "unseen_fraction has an invalid value"),
        ({"device": "tpu"}, "device 'tpu' is unknown"),
        ({"data": {"name": "synthetic", "scaling": "zscore"}}, "data.scaling 'zscore' is unknown"),
        ({"method": {"name": "clswgan", "params": {"prior": "gmm"}}},
         "prior 'gmm' is unknown; choose one of none, factorised-gaussian, composed\\.$"),
        ({"method": {"name": "srwgan", "params": {"classifier_space": "logits"}}},
         "classifier_space 'logits' is unknown; choose one of code, features\\.$"),
        ({"method": {"name": "factorised-gaussian", "params": {"balance": "rows"}}},
         "balance 'rows' is unknown; choose one of classes, samples"),
        ({"method": {"name": "clswgan", "params": {"out": "tanh"}}},
         "out 'tanh' is unknown; choose one of relu, sigmoid, none"),
    ],
)
def test_strict_validation_names_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        load_config(raw)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="no config file or preset named 'clswgan/mars'"):
        load_config("clswgan/mars")


def test_invalid_yaml(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


def test_overrides_apply_dotted_keys():
    cfg = load_config("clswgan/synthetic", {"method.params.epochs": 3, "evaluation.seeds": [4]})
    assert cfg.method.params["epochs"] == 3 and cfg.evaluation.seeds == [4]


@pytest.mark.parametrize("preset", ["clswgan/synthetic", "srwgan/synthetic", "clswgan/cub",
                                    "srwgan/flo"])
def test_switching_objective_brings_its_own_optimizer(preset):
    """Presets set optimizers per objective; --objective wgan gets the preset's own entry for
    WGAN (the synthetic presets tune one) or else RMSProp(5e-5), the paper's, never the WGAN-GP
    learning rate; a flat lr still applies to any objective."""
    from anyshot.experiment import build_method
    from anyshot.objectives.optimizer import optimizer_spec

    tuned = build_method(load_config(preset), seed=0)
    spec = optimizer_spec(tuned.config, tuned.objective)
    assert spec.name == "adam" and spec.lr == tuned.config.optimizer["wgan-gp"].lr
    for name, default in (("wgan", ("rmsprop", 5e-5)), ("ebgan", ("adam", 1e-4))):
        switched = build_method(load_config(preset, {"objective.name": name}), seed=0)
        own = switched.config.optimizer.get(name)
        want = default if own is None else (default[0], own.lr)
        assert (optimizer_spec(switched.config, switched.objective).name,
                optimizer_spec(switched.config, switched.objective).lr) == want
    # cub's preset tunes WGAN-GP only: a switch there brings the paper's optimizer
    cub = build_method(load_config("clswgan/cub", {"objective.name": "wgan"}), seed=0)
    assert optimizer_spec(cub.config, cub.objective).lr == 5e-5
    flat = build_method(load_config(preset, {"objective.name": "wgan",
                                             "method.params.lr": 2e-4}), seed=0)
    assert optimizer_spec(flat.config, flat.objective).lr == 2e-4


@pytest.mark.parametrize("optimizer, message", [
    ({"wgan-gpp": {"lr": 1e-3}}, "'wgan-gpp', which is not an objective; valid objectives: ebgan"),
    ({"wgan": {"learning_rate": 1e-3}}, "'learning_rate' in optimizer.wgan; valid keys"),
    ({"wgan": {"lr": 0}}, "optimizer.wgan.lr is 0; a learning rate must be > 0"),
    ([1e-3], "optimizer must map objective names to settings"),
])
def test_per_objective_optimizer_errors_name_the_key(optimizer, message):
    with pytest.raises(ConfigError, match=message):
        load_config("clswgan/synthetic", {"method.params.optimizer": optimizer})


def test_switching_objective_drops_the_other_objectives_params():
    """cub's preset gives WGAN-GP gp_weight; --objective wgan must not hand it to WGAN."""
    cfg = load_config("clswgan/cub", {"objective.name": "wgan"})
    assert cfg.objective.name == "wgan" and cfg.objective.params == {}
    kept = load_config("clswgan/cub", {"objective.name": "WGAN_GP"})
    assert kept.objective.params == {"gp_weight": 10.0}
    custom = load_config("clswgan/cub", {"objective.name": "wgan",
                                         "objective.params.clip_value": 0.05})
    assert custom.objective.params == {"clip_value": 0.05}
