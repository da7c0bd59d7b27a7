"""Run configuration: TOML + overrides, validation errors that name the field, JSON round trip."""

import json

import pytest

from reelrec.config import RunConfig, apply_overrides, load_config, parse_override


def write(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_toml_file_and_overrides_build_the_model(tmp_path):
    path = write(
        tmp_path,
        """
model = "two-tower"
seed = 3
[params]
embedding_size = 32
loss = "retrieval"
[training]
epochs = 4
checkpoint_dir = "ckpt"
[data]
protocol = "holdout"
test_fraction = 0.25
""",
    )
    cfg = load_config(path, ["params.embedding_size=16", "training.learning_rate=0.01", "params.scoring=watch"])
    assert cfg.params == {"embedding_size": 16, "loss": "retrieval", "scoring": "watch"}
    assert cfg.training.epochs == 4 and cfg.data.test_fraction == 0.25
    model = cfg.build_model()
    params = model.get_params()
    assert params["embedding_size"] == 16 and params["epochs"] == 4 and params["learning_rate"] == 0.01
    assert params["seed"] == 3 and params["checkpoint_dir"] == "ckpt" and params["scoring"] == "watch"
    # Options left unset keep the model's own defaults.
    assert params["batch_size"] == "auto"


def test_json_round_trip(tmp_path):
    cfg = load_config(None, ["model=seed", "training.epochs=1", "device=cpu"])
    text = json.dumps(cfg.to_json())
    again = RunConfig.from_json(json.loads(text))
    assert again == cfg
    assert again.build_model().get_params()["epochs"] == 1


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("training.epochs=0", "training.epochs"),
        ("data.test_fraction=1.5", "data.test_fraction"),
        ("training.colour=red", "training.colour"),
        ("data.protocol=sideways", "data.protocol"),
        ("model=nonsense", "model"),
        ("device=tpu", "device"),
        ("params.not_a_param=1", "params.not_a_param"),
        ("unknown_top=1", "unknown_top"),
    ],
)
def test_errors_name_the_field(override, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        load_config(None, [override])


def test_a_training_option_the_model_does_not_take_is_refused():
    # issue 13, item 6: it used to be dropped silently
    with pytest.raises(ValueError, match=r"training\.patience=2'.*'mf' has no 'patience' option"):
        load_config(None, ['model="mf"', "training.patience=2"])
    assert load_config(None, ['model="mf"', "training.epochs=2"]).build_model().get_params()["epochs"] == 2


def test_bad_param_value_is_named_by_the_model():
    cfg = load_config(None, ['model="two-tower"', "params.negatives=everything"])
    with pytest.raises(ValueError, match="negatives"):
        cfg.build_model()


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        load_config(tmp_path / "missing.toml")
    bad = write(tmp_path, "model = \n")
    with pytest.raises(ValueError, match=r"not valid TOML"):
        load_config(bad)


def test_override_parsing():
    assert parse_override("a.b=5") == (["a", "b"], 5)
    assert parse_override("a=0.5") == (["a"], 0.5)
    assert parse_override("a=true") == (["a"], True)
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])
    assert parse_override("a=retrieval") == (["a"], "retrieval")
    assert parse_override('a="x y"') == (["a"], "x y")
    for bad in ("novalue", "=3", "a..b=1"):
        with pytest.raises(ValueError, match="override"):
            parse_override(bad)
    with pytest.raises(ValueError, match="is a value, not a table"):
        apply_overrides({"seed": 1}, ["seed.x=2"])


def test_scale_out_runs_default_to_the_two_tower_but_a_named_model_wins() -> None:
    from reelrec.models import DEFAULT_MODEL, SCALE_OUT_MODEL

    assert load_config(None, []).model == DEFAULT_MODEL == "hybrid"
    assert load_config(None, [], default_model=SCALE_OUT_MODEL).model == "two-tower"
    assert load_config(None, ['model="mf"'], default_model=SCALE_OUT_MODEL).model == "mf"
    # Two-tower options are accepted without naming the model when the run defaults to it ...
    assert load_config(None, ["params.time_budget_s=5"], default_model=SCALE_OUT_MODEL).params == {"time_budget_s": 5}
    # ... and refused, naming the field, for the in-memory default, which has no such option.
    with pytest.raises(ValueError, match=r"params\.time_budget_s"):
        load_config(None, ["params.time_budget_s=5"])
