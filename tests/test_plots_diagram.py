"""plots.block_diagram: the boxes, arrows, shapes and frames it is asked for, and clear errors."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.text import Annotation

from nlpcourse import plots

BOXES = {
    "x": (0, 0, "token ids"),
    "emb": (0, 1, "embedding", {"colour": 1}),
    "attn": (0, 2, "self-attention", {"width": 2.0}),
    "ffn": (0, 3, "feed-forward"),
    "out": (0, 4, "softmax", {"colour": "red"}),
}
ARROWS = [("x", "emb", "(B, T)"), ("emb", "attn", "(B, T, 64)"), ("attn", "ffn"), ("ffn", "out", "(B, T, V)")]


def _by_gid(artists, prefix):
    return [a for a in artists if (a.get_gid() or "").startswith(prefix)]


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_draws_one_box_and_label_per_entry(ax):
    out = plots.block_diagram(ax, BOXES, ARROWS)
    assert out is ax
    boxes = _by_gid(ax.patches, "box:")
    assert len(boxes) == len(BOXES) and all(isinstance(p, FancyBboxPatch) for p in boxes)
    texts = [t.get_text() for t in ax.texts]
    for _x, _y, label, *_ in BOXES.values():
        assert label in texts
    attn = next(p for p in boxes if p.get_gid() == "box:attn")
    assert attn.get_width() == pytest.approx(2.0)
    assert not ax.axison


def test_draws_one_arrow_per_pair_with_its_shape(ax):
    plots.block_diagram(ax, BOXES, ARROWS)
    arrows = _by_gid(ax.texts, "arrow:")
    assert len(arrows) == len(ARROWS) and all(isinstance(a, Annotation) for a in arrows)
    assert {a.get_gid() for a in arrows} == {f"arrow:{a}->{b}" for a, b, *_ in ARROWS}
    texts = [t.get_text() for t in ax.texts]
    assert {"(B, T)", "(B, T, 64)", "(B, T, V)"} <= set(texts)


def test_skips_are_dashed_and_groups_are_frames(ax):
    plots.block_diagram(ax, BOXES, ARROWS, skips=[("emb", "ffn", "+")], groups=[(["attn", "ffn"], "x N layers")],
                        title="a stack")
    skips = _by_gid(ax.texts, "skip:")
    assert len(skips) == 1 and skips[0].arrow_patch.get_linestyle() == "--"
    frames = _by_gid(ax.patches, "group:")
    assert len(frames) == 1 and isinstance(frames[0], Rectangle) and frames[0].get_linestyle() == "--"
    attn = next(p for p in ax.patches if p.get_gid() == "box:attn")
    assert frames[0].get_x() < attn.get_x() and frames[0].get_width() > attn.get_width()
    assert "x N layers" in [t.get_text() for t in ax.texts]
    assert ax.get_title() == "a stack"


def test_every_box_lies_inside_the_axes_limits(ax):
    plots.block_diagram(ax, BOXES, ARROWS, groups=[(["attn", "ffn"], "x N layers")])
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for p in _by_gid(ax.patches, "box:"):
        assert x0 < p.get_x() and p.get_x() + p.get_width() < x1
        assert y0 < p.get_y() and p.get_y() + p.get_height() < y1


def test_renders(ax):
    plots.block_diagram(ax, BOXES, ARROWS, skips=[("x", "attn")])
    ax.figure.canvas.draw()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(boxes={}, arrows=[]), r"boxes must be a non-empty dict"),
        (dict(boxes={"a": (0, 0)}, arrows=[]), r"boxes\['a'\] must be \(x, y, label\)"),
        (dict(boxes={"a": (0, float("nan"), "A")}, arrows=[]), r"boxes\['a'\] position"),
        (dict(boxes={"a": (0, 0, "A", {"colour": "no-such-colour"})}, arrows=[]), r"boxes\['a'\] colour"),
        (dict(boxes={"a": (0, 0, "A", {"size": 2})}, arrows=[]), r"boxes\['a'\] has unknown options"),
        (dict(boxes={"a": (0, 0, "A", {"width": 0})}, arrows=[]), r"boxes\['a'\] width and height"),
        (dict(arrows=[("x", "nowhere")]), r"arrows\[0\] names an unknown box 'nowhere'"),
        (dict(arrows=[("x",)]), r"arrows\[0\] must be \(from, to\)"),
        (dict(skips=[("x", "emb"), ("emb", "ghost")]), r"skips\[1\] names an unknown box 'ghost'"),
        (dict(groups=[(["attn", "ghost"], "x N")]), r"groups\[0\] names unknown boxes \['ghost'\]"),
        (dict(groups=[("attn", "x N")]), r"groups\[0\] must be \(box names, label\)"),
        (dict(width=-1), r"width and height must be positive"),
    ],
)
def test_bad_input_names_the_argument(ax, kwargs, match):
    args = dict(boxes=BOXES, arrows=ARROWS) | kwargs
    with pytest.raises(ValueError, match=match):
        plots.block_diagram(ax, **args)


# --------------------------------------------------------------------------- labels that do not overprint (chapter 03)


def test_label_points_keeps_labels_apart_even_for_coincident_points(ax):
    import numpy as np
    from matplotlib.text import Text

    points = np.array([[0.0, 0.0], [0.001, 0.0], [0.0, 0.001], [0.002, 0.002], [1.0, 1.0]])
    labels = ["military", "italy", "japan", "troops", "far"]
    ax.scatter(*points.T)
    annotations = plots.label_points(ax, points, labels)
    assert [a.get_text() for a in annotations] == labels
    renderer = ax.figure.canvas.get_renderer()
    boxes = []
    for a in annotations:
        a.update_positions(renderer)
        boxes.append(Text.get_window_extent(a, renderer))
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes)))
    assert annotations[-1].xyann == (4, 4)  # a point with room keeps the first place


def test_word_groups_projection_gives_each_group_its_own_marker(ax):
    import numpy as np

    points = np.random.default_rng(0).normal(size=(8, 2))
    plots.word_groups_projection(ax, points, [f"w{i}" for i in range(8)], [0, 0, 1, 1, 2, 2, 3, 3],
                                 ["a", "b", "c", "d"], title="t")
    markers = [tuple(np.round(c.get_paths()[0].vertices, 3).ravel()) for c in ax.collections]
    colours = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert len(ax.collections) == 4 and len(set(markers)) == 4 and len(set(colours)) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c", "d"]
