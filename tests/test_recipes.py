"""course_utils.recipes: the result bookkeeping, the clock, the schedule, the pipelines, and small real runs."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest

from course_utils import data, models, recipes, runtime


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


def _each_pass_is_a_permutation(batches, images: np.ndarray, steps_per_pass: int) -> None:
    for _ in range(2):  # two passes: each holds every full-batch's worth of images once
        seen = np.concatenate([np.asarray(next(batches)[0]).reshape(-1) for _ in range(steps_per_pass)])
        assert len(np.unique(seen)) == len(seen)
        assert set(seen) <= set(images.reshape(-1))


def test_numpy_batches_shuffle_every_pass_without_repeats() -> None:
    images = np.arange(40, dtype=np.float32).reshape(40, 1)
    targets = images * 10
    batches = recipes.numpy_batches(images, targets, 8, seed=1)
    x, y = next(batches)
    assert x.shape == (8, 1) and np.array_equal(y, x * 10)  # images and targets stay paired
    _each_pass_is_a_permutation(recipes.numpy_batches(images, targets, 8, seed=1), images, 5)
    with pytest.raises(ValueError):
        next(recipes.numpy_batches(images[:3], targets[:3], 8))


def test_tf_batches_shuffle_every_pass_without_repeats() -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.data needs the TensorFlow backend")
    images = np.arange(40, dtype=np.float32).reshape(40, 1)
    dataset = recipes.tf_batches(images, images * 10, 8, seed=1)
    batches = iter(dataset)
    x, y = next(batches)
    assert tuple(x.shape) == (8, 1) and np.array_equal(np.asarray(y), np.asarray(x) * 10)
    _each_pass_is_a_permutation(iter(dataset), images, 5)


def test_epoch_clock_stops_while_the_test_set_is_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    def slow_accuracy(model, images, labels, **kwargs) -> float:
        time.sleep(0.4)
        return 0.5

    monkeypatch.setattr(recipes, "test_accuracy", slow_accuracy)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((32, 4), np.float32), np.zeros((32, 2), np.float32)
    clock = recipes.EpochClock(x, np.zeros(32), images_per_epoch=32)
    start = time.perf_counter()
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[clock])
    wall = time.perf_counter() - start
    assert [record.epoch for record in clock.records] == [1, 2, 3]
    assert [record.images for record in clock.records] == [32, 64, 96]
    assert all(record.test_acc == 0.5 for record in clock.records)
    times = [record.train_s for record in clock.records]
    assert times == sorted(times) and times[0] > 0
    assert times[-1] < wall - 3 * 0.4 + 0.05  # the three 0.4 s evaluations are not training time


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
    result = recipes.course_recipe(*small_mnist, num_epochs=1, config="fast", pipeline=pipeline)
    assert result.name == "course-fast"
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
    assert result.name == "course" and len(result.epochs) == 1
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
    with pytest.raises(KeyError):
        recipes.course_recipe(*small_mnist, config="slow")


def test_the_two_configurations_differ_where_the_docs_say() -> None:
    assert set(recipes.CONFIGS) == {"accurate", "fast"}
    fast, accurate = recipes.FAST, recipes.ACCURATE
    assert fast.num_epochs < accurate.num_epochs
    assert fast.widths[0] < accurate.widths[0] and fast.widths[1] < accurate.widths[1]
    assert fast.shift == 0 < accurate.shift
    assert fast.evals_per_epoch > 1


def _tensorflow() -> bool:
    import keras

    return keras.backend.backend() == "tensorflow"


def test_load_or_train_course_model_trains_saves_then_loads(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    model, origin = recipes.load_or_train_course_model(num_epochs=1, train_size=600)
    assert "trained here" in origin and recipes.course_model_path().is_file()
    images = data.prepare_images(data.load_mnist(verbose=False)[1][0][:8])
    again, origin_again = recipes.load_or_train_course_model(num_epochs=1, train_size=600)
    assert origin_again.startswith("loaded from")
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)


def test_a_broken_saved_model_is_moved_aside_not_used(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    path = recipes.course_model_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a keras file")
    _, origin = recipes.load_or_train_course_model(num_epochs=1, train_size=600)
    assert "trained here" in origin
    assert path.with_suffix(".broken").read_bytes() == b"not a keras file"
    assert "Could not load" in capsys.readouterr().out
