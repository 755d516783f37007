"""course_utils.recipes: the result bookkeeping, the schedule, the configurations, and small real runs."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from course_utils import bench, data, models, recipes, runtime


def _result(
    accuracies: list[float], seconds_per_epoch: float = 2.0, images_per_epoch: int = 100
) -> recipes.RecipeResult:
    records = [
        recipes.EpochRecord(
            epoch=i + 1, train_s=seconds_per_epoch * (i + 1), test_acc=acc, images=images_per_epoch * (i + 1)
        )
        for i, acc in enumerate(accuracies)
    ]
    return recipes.RecipeResult("synthetic", records)


def test_time_to_is_the_first_evaluation_at_or_above_the_target() -> None:
    result = _result([0.97, 0.985, 0.99, 0.989, 0.993])
    assert result.time_to(0.99) == 6.0  # reached exactly at epoch 3, not at the later, higher epoch 5
    assert result.time_to(0.98) == 4.0
    assert result.time_to(0.5) == 2.0
    assert result.time_to(0.995) is None  # never reached


def test_result_figures_follow_the_records() -> None:
    result = _result([0.97, 0.992, 0.991], seconds_per_epoch=4.0, images_per_epoch=1_000)
    assert result.final_test_acc == 0.991
    assert result.best_test_acc == 0.992
    assert result.train_s == 12.0
    assert result.images == 3_000
    assert result.images_per_s == pytest.approx(250.0)
    assert result.best_acc_within(8.0) == 0.992
    assert result.best_acc_within(5.0) == 0.97
    assert result.best_acc_within(3.9) is None
    figures = json.loads(json.dumps(result.to_dict()))
    assert figures["time_to_99_s"] == 8.0
    assert [record["test_acc"] for record in figures["epochs"]] == [0.97, 0.992, 0.991]


def test_an_empty_result_reports_nothing_rather_than_crashing() -> None:
    result = recipes.RecipeResult("empty", [])
    assert result.time_to(0.5) is None
    assert result.train_s == 0.0
    assert np.isnan(result.final_test_acc) and np.isnan(result.images_per_s)


def test_one_cycle_schedule_warms_up_to_the_peak_then_decays_to_zero() -> None:
    import keras

    schedule = recipes.one_cycle_schedule(0.01, total_steps=100, warmup_fraction=0.2)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(101)]
    assert rates[0] == pytest.approx(0.01 / 25)
    assert rates[20] == pytest.approx(0.01)
    assert max(rates) == pytest.approx(0.01)
    assert rates[100] == pytest.approx(0.0, abs=1e-9)
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(rates[:21]))  # rising during the warm-up
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(rates[20:101]))  # falling after it
    with pytest.raises(ValueError):
        recipes.one_cycle_schedule(0.01, total_steps=1)


@pytest.fixture(scope="module")
def small_mnist() -> tuple:
    (x_train, y_train), (x_test, y_test) = data.load_mnist(verbose=False)
    x_train, y_train = data.stratified_subset(x_train, y_train, 1_000, seed=0)
    return x_train, y_train, x_test[:300], y_test[:300]


def test_article_recipe_trains_as_the_article_wrote(small_mnist: tuple) -> None:
    runtime.seed_everything(0)
    result = recipes.article_recipe(*small_mnist, num_epochs=2)
    assert result.name == "article"
    assert [record.epoch for record in result.epochs] == [1, 2]
    assert result.epochs[0].images == 800  # validation_split=0.2 keeps 20% out of training
    assert result.config["batch_size"] == 64 and result.config["validation_split"] == 0.2
    assert 0.0 < result.epochs[0].train_s < result.epochs[1].train_s
    assert 0.3 < result.final_test_acc <= 1.0  # it learns: chance is 0.1
    assert result.model.count_params() == 121_930  # article_cnn(64), the first draft


def test_article_recipe_on_every_image_with_no_validation_split(small_mnist: tuple) -> None:
    runtime.seed_everything(0)
    result = recipes.article_recipe(*small_mnist, num_epochs=1, validation_split=0.0, name="article, all images")
    assert result.name == "article, all images"
    assert result.config["train_images"] == 1_000 == result.epochs[0].images  # nothing held out
    assert result.config["validation_split"] == 0.0
    with pytest.raises(ValueError, match="validation_split"):
        recipes.article_recipe(*small_mnist, num_epochs=1, validation_split=1.0)


@pytest.mark.parametrize("pipeline", ["auto", "numpy"])
def test_course_recipe_fast_learns_and_evaluates_four_times_per_pass(small_mnist: tuple, pipeline: str) -> None:
    runtime.seed_everything(0)
    result = recipes.course_recipe(*small_mnist, num_epochs=1, config="course_fast", pipeline=pipeline)
    assert result.name == "course_fast"
    batch = result.config["batch_size"]
    assert batch == 1_000 // recipes.MIN_STEPS_PER_PASS  # a small set gets a smaller batch
    steps_per_pass = 1_000 // batch
    steps = steps_per_pass // 4  # four evaluations per pass, whole steps between them
    assert [record.epoch for record in result.epochs] == pytest.approx(
        [k * steps / steps_per_pass for k in (1, 2, 3, 4)]
    )
    assert [record.images for record in result.epochs] == [k * steps * batch for k in (1, 2, 3, 4)]
    assert result.final_test_acc > 0.5  # chance is 0.1
    assert result.model.output_shape == (None, 10)
    assert result.config["pipeline"] == ("numpy" if pipeline == "numpy" else ("tf.data" if _tensorflow() else "numpy"))


def test_course_recipe_accurate_trains_without_its_augmentation_layer_in_the_result(small_mnist: tuple) -> None:
    runtime.seed_everything(0)
    result = recipes.course_recipe(*small_mnist, num_epochs=1)
    assert result.name == "course" and len(result.epochs) == recipes.ACCURATE.evals_per_epoch == 4
    assert result.config["shift"] > 0 and result.config["label_smoothing"] > 0
    assert "RandomTranslation" not in [type(layer).__name__ for layer in result.model.layers]
    assert (
        result.model.count_params()
        == models.course_cnn(recipes.ACCURATE.widths, recipes.ACCURATE.dense_units).count_params()
    )


def test_course_recipe_rejects_bad_settings(small_mnist: tuple) -> None:
    with pytest.raises(ValueError):
        recipes.course_recipe(*small_mnist, num_epochs=0)
    with pytest.raises(ValueError):
        recipes.course_recipe(*small_mnist, pipeline="pandas")
    with pytest.raises(KeyError, match="course_fast"):  # the message names the configurations there are
        recipes.course_recipe(*small_mnist, config="slow")


@pytest.mark.parametrize("name", list(recipes.CONFIGS))
def test_a_configuration_has_one_name_everywhere(small_mnist: tuple, name: str) -> None:
    runtime.seed_everything(0)
    result = recipes.course_recipe(*small_mnist, num_epochs=1, config=name)
    assert result.name == name == result.config["name"]  # the run, its figures and the benchmark share it
    assert name in bench.RUNS and name in bench.LABELS


def test_evaluate_accuracy_counts_the_argmax_matches() -> None:
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, use_bias=False)])
    model.set_weights([np.eye(3, dtype="float32")])  # the output is the input: argmax = largest feature
    images = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [5, 0, 0]], dtype="float32")
    assert recipes.evaluate_accuracy(model, images, np.array([0, 1, 2, 2])) == 0.75
    assert recipes.accuracy_on(images, [0, 1, 2, 0])(model) == 1.0


def _tensorflow() -> bool:
    import keras

    return keras.backend.backend() == "tensorflow"


def test_load_or_train_course_model_trains_saves_then_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    model, origin = recipes.load_or_train_course_model(num_epochs=1, train_size=600)
    assert "trained by load_or_train_course_model" in origin and recipes.course_model_path().is_file()
    images = data.prepare_images(data.load_mnist(verbose=False)[1][0][:8])
    again, origin_again = recipes.load_or_train_course_model(num_epochs=1, train_size=600)
    assert origin_again.startswith("loaded from") and "trained by load_or_train_course_model" in origin_again
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)


def test_a_broken_saved_model_is_moved_aside_not_used(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    path = recipes.course_model_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a keras file")
    _, origin = recipes.load_or_train_course_model(num_epochs=1, train_size=600)
    assert "trained by load_or_train_course_model" in origin
    assert path.with_suffix(".broken").read_bytes() == b"not a keras file"
    assert "Could not load" in capsys.readouterr().out


def test_training_flops_are_counted_from_the_layer_shapes() -> None:
    import keras

    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, padding="same"),  # 28*28*8 outputs x 3*3*1 MACs each
            keras.layers.MaxPooling2D(),
            keras.layers.BatchNormalization(),  # not counted
            keras.layers.Flatten(),
            keras.layers.Dense(10),  # 14*14*8 inputs x 10 units
        ]
    )
    macs = 28 * 28 * 8 * 9 + 14 * 14 * 8 * 10
    assert recipes.training_flops_per_image(model) == 3 * 2 * macs
    wrapped = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.RandomTranslation(0.1, 0.1), model])
    assert recipes.training_flops_per_image(wrapped) == 3 * 2 * macs  # nested models are counted through
    article = models.article_cnn()  # 26*26*32*9 + 11*11*64*288 + 1600*64 + 64*10 MACs
    assert recipes.training_flops_per_image(article) == 6 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 288 + 1600 * 64 + 640)


def test_rotation_and_weight_averaging_train_and_end_on_the_averaged_weights(small_mnist: tuple) -> None:
    from dataclasses import replace

    runtime.seed_everything(0)
    settings = replace(recipes.ACCURATE, name="course", rotation_deg=10.0, ema_momentum=0.9)
    result = recipes.course_recipe(*small_mnist, num_epochs=1, config=settings)
    assert "RandomRotation" not in [type(layer).__name__ for layer in result.model.layers]
    _, _, x_test, y_test = small_mnist
    final = recipes.evaluate_accuracy(result.model, data.prepare_images(x_test), y_test)
    assert result.final_test_acc == final > 0.5  # the last record is the averaged model's accuracy
    assert "random rotations of up to 10 degrees" in settings.describe() and "moving average" in settings.describe()


JAX_SCRIPT = """
import json
from course_utils import data, recipes, runtime
(x, y), (xt, yt) = data.load_mnist(verbose=False)
x, y = data.stratified_subset(x, y, 1000, seed=0)
runtime.seed_everything(0)
result = recipes.course_recipe(x, y, xt[:200], yt[:200], num_epochs=3, config="course_fast")
print(json.dumps({"backend": result.config["backend"], "pipeline": result.config["pipeline"],
                  "tf": runtime.backend_is_tensorflow(), "acc": result.final_test_acc,
                  "flops": recipes.training_flops_per_image(result.model)}))
"""


def test_the_course_recipe_runs_under_jax_too() -> None:
    """``make bench BACKEND=jax``'s path, on a CPU: the recipe is Keras 3 only (needs the ``jax`` extra)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("jax", reason='the jax extra is not installed (pip install -e ".[jax]")')
    env = dict(os.environ, KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax" and report["pipeline"] == "numpy" and report["tf"] is False
    assert report["acc"] > 0.3 and report["flops"] > 0
