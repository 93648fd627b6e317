"""The one pattern every widget follows (controls -> compute -> draw), tested on its own: results
are declared frozen dataclasses, compute functions run without a widget, a control change
replaces ``.result`` and renders once."""

import dataclasses
import inspect

import ipywidgets
import numpy as np
import pytest

from nlpcourse import activations as A
from nlpcourse import normalization as N
from nlpcourse import plots, widgets
from nlpcourse.widgets import _core
from nlpcourse.widgets import activations as act_widgets
from nlpcourse.widgets import attention as attention_widgets

MODULES = ["vectors", "activations", "optimization", "language_models", "attention", "classifiers"]


def _result_classes():
    import importlib

    for name in MODULES:
        module = importlib.import_module(f"nlpcourse.widgets.{name}")
        for _n, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls):
                yield cls


def test_every_result_is_a_frozen_dataclass_whose_docstring_names_each_field():
    classes = list(_result_classes())
    assert len(classes) == 14
    for cls in classes:
        assert cls.__dataclass_params__.frozen, cls.__name__
        for field in dataclasses.fields(cls):
            assert f"{field.name}:" in cls.__doc__, f"{cls.__name__}.{field.name} is not described"


def test_every_builder_named_today_is_exported_and_returns_an_explorer():
    builders = [n for n in widgets.__all__ if n[0].islower()]
    assert len(builders) == 15 and all(inspect.isfunction(getattr(widgets, n)) for n in builders)
    box = widgets.activation_explorer()
    assert isinstance(box, _core.Explorer) and isinstance(box, ipywidgets.VBox)  # displays
    assert box.children[-1] is box.view.image


def test_compute_functions_run_alone():
    curves = act_widgets.activation_curves("tanh", 2.0)
    np.testing.assert_array_equal(curves.f, np.tanh(curves.x))
    assert curves.x[0] == -2.0 and len(curves.x) == 401
    result = act_widgets.softmax_at("1, 2; 3", 0.5)
    np.testing.assert_allclose(result.probabilities, A.softmax([1.0, 2.0, 3.0], 0.5), rtol=1e-15)
    with pytest.raises(ValueError, match="2 to 10 finite numbers"):
        act_widgets.softmax_at("1", 1.0)


def test_masked_attention_computes_without_a_widget():
    import torch

    q = torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(0))
    result = attention_widgets.masked_attention(q, q, (5, 3), padding=True, causal=True)
    assert result.mask[1].sum(axis=1).tolist() == [1, 2, 3, 3, 3]
    assert np.all(result.weights[~result.mask] == 0.0)
    assert result.heading == "masks: padding + causal"


def test_a_control_change_replaces_the_result_and_renders_once():
    box = widgets.activation_explorer("tanh", x_range=3.0)
    first, renders = box.result, box.view.renders
    box.controls["x_range"].value = 5.0
    assert box.result is not first and box.result.x[-1] == 5.0 and box.view.renders == renders + 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.result.name = "ReLU"


def test_holding_sets_several_controls_with_one_render():
    box = widgets.mask_explorer(lengths=(6, 4), max_len=6)
    renders = box.view.renders
    with box.holding():
        box.controls["lengths"][0].value = 2
        box.controls["causal"].value = False
        assert box.view.renders == renders
    assert box.view.renders == renders + 1 and box.result.lengths == [2, 4]
    assert box.result.mask[0].sum(axis=1).tolist() == [2] * 6


def test_picking_an_analogy_question_fills_the_fields_and_renders_once():
    class Vectors:
        words = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 1.0], "d": [0.5, 1.0]}

        def __contains__(self, word):
            return word in self.words

        def analogy(self, a, b, c, topn):
            return [(f"{a}{b}{c}", 0.5)][:topn]

    box = widgets.analogy_explorer(Vectors(), [("a", "b", "c"), ("b", "c", "d")], k=1)
    renders = box.view.renders
    box.controls["question"].value = 1
    assert [box.controls[n].value for n in "abc"] == ["b", "c", "d"]
    assert box.result.pairs == [("bcd", 0.5)] and box.view.renders == renders + 1


def test_a_refused_change_keeps_the_result_and_says_why():
    box = widgets.softmax_temperature([1.0, 2.0])
    good, renders = box.result, box.view.renders
    box.controls["logits"].value = "x"
    assert box.result is good and box.view.renders == renders and "numbers" in box.message.value
    box.controls["logits"].value = "1, 1"
    assert box.message.value == "" and box.view.renders == renders + 1


def test_learning_rate_widget_moves_the_path_line_it_found_by_label():
    X, y = N.scaled_features(1.0, n=50, seed=0)
    problem = N.LeastSquares.fit(X, y)
    box = widgets.learning_rate_descent(problem, 0.1, start=[0.0, 1.0], steps=10,
                                        xlim=(-1.0, 4.0), ylim=(-3.0, 2.0))
    box.controls["lr"].value = 0.2
    path = N.gradient_descent_path(problem.grad, [0.0, 1.0], 0.2, 10)
    np.testing.assert_allclose(box.result.path, path, rtol=1e-12)
    np.testing.assert_allclose(box.view.artists["GD path"].get_xdata(), path[:, 0], rtol=1e-12)
    assert box.result.final_loss == pytest.approx(float(problem.loss(*path[-1])), rel=1e-12)


def test_the_widget_and_the_static_panel_draw_one_gaussian_picture():
    """gaussian_classifier_panel and the widget share plots.GaussianPanel: same ellipses, points
    and title for the same fit."""
    import matplotlib.pyplot as plt

    from nlpcourse import data, generative

    X, y, Xt, yt = data.pokemon_two_types(features=data.POKEMON_STATS)
    box = widgets.gaussian_boundary(X, y, Xt, yt, data.POKEMON_STATS, ("Normal", "Water"),
                                    features=(2, 4), steps=40)
    fit = box.result
    fig, ax = plt.subplots()
    plots.gaussian_classifier_panel(ax, X[:, [2, 4]], y, fit.model.means, fit.model.covariances,
                                    lambda p: generative.posterior(fit.model, p)[:, 1],
                                    ("Normal", "Water"), X_test=Xt[:, [2, 4]], y_test=yt,
                                    title=fit.heading)
    panel = box.view.artists["panel"]
    assert len(ax.patches) == 2 and len(ax.collections) == 4 + 2  # points, shading, boundary
    for mine, theirs in zip(panel.ellipses, ax.patches):
        assert mine.get_center() == pytest.approx(theirs.get_center())
        assert mine.get_width() == pytest.approx(theirs.get_width())
    for mine, theirs in zip(panel.points, ax.collections[:4]):
        np.testing.assert_array_equal(mine.get_offsets(), theirs.get_offsets())
    assert ax.get_title() == panel.ax.get_title()
    plt.close(fig)
