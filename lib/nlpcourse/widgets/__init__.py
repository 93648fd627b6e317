"""Interactive figures of the course, one module per idea, all built the same way
(``_core.Explorer``: controls -> compute -> draw). Each builder returns the widget without
displaying it; tests and notebooks drive its ``.controls`` and read its ``.result`` (a frozen
dataclass declared beside the builder) and ``.view`` (the rendered figure).

- ``vectors``: tf-idf terms (01), nearest neighbours and analogies (03), PCA/LDA projections (12)
- ``activations``: activation functions and softmax temperature (04)
- ``optimization``: feature scale (05), gradient norm by depth (06), learning rate (11)
- ``language_models``: next word (02), fill the mask (09b), next token (09c)
- ``attention``: seq2seq alignments (07), attention masks (08)
- ``classifiers``: the Gaussian decision boundary (10)
"""

from nlpcourse.widgets._core import BlitFigureView, Explorer, FigureView
from nlpcourse.widgets.activations import (SOFTMAX_MAX_LOGITS, activation_explorer,
                                           softmax_temperature)
from nlpcourse.widgets.attention import alignment_explorer, mask_explorer
from nlpcourse.widgets.classifiers import gaussian_boundary
from nlpcourse.widgets.language_models import (fill_mask_explorer, next_token_explorer,
                                               next_word_explorer)
from nlpcourse.widgets.optimization import (feature_scale_descent, gradient_norm_depth,
                                            learning_rate_descent)
from nlpcourse.widgets.vectors import (TFIDF_WEIGHTINGS, analogy_explorer,
                                       nearest_neighbour_explorer, projection_explorer,
                                       tfidf_explorer)

__all__ = [
    "Explorer", "FigureView", "BlitFigureView",
    "tfidf_explorer", "TFIDF_WEIGHTINGS", "nearest_neighbour_explorer", "analogy_explorer",
    "projection_explorer",
    "activation_explorer", "softmax_temperature", "SOFTMAX_MAX_LOGITS",
    "feature_scale_descent", "gradient_norm_depth", "learning_rate_descent",
    "next_word_explorer", "fill_mask_explorer", "next_token_explorer",
    "alignment_explorer", "mask_explorer",
    "gaussian_boundary",
]
