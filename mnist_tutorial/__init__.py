"""Helpers for the book *PyTorch, from tensors to handwritten digits*.

The chapters teach the ideas with plain PyTorch; this package holds what they reuse: finding
and verifying MNIST, the chapters' models with their recipes, the training loop and a cache of
trained models, evaluation, figures and checkpoints.
"""

from ._version import __version__ as __version__  # re-exported: mnist_tutorial.__version__
from .augment import random_affine
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .data import (
    MNIST_MEAN,
    MNIST_STD,
    RAW_FILES,
    Batches,
    MNISTDataError,
    Split,
    TensorBatches,
    ensure_mnist,
    load_split,
    mnist_dataset,
    mnist_loader,
    mnist_transform,
    normalise,
)
from .evaluation import Predictions, confident_mistakes, confusion_matrix, evaluate, per_class_accuracy
from .export import export_onnx
from .handwriting import centre_by_mass, crop_to_ink, fit_in_box, ink_map, mnist_like
from .models import (
    ConvClassifier,
    LinearClassifier,
    MLPClassifier,
    StrongClassifier,
    StrongClassifierWithoutBatchNorm,
    count_parameters,
)
from .paths import data_root, image_path
from .plots import (
    digit_grid,
    plot_comparison,
    plot_confusion_matrix,
    plot_history,
    show_confident_mistakes,
    show_digits,
    show_predictions,
)
from .recipes import MODELS, Model, Recipe, architecture_name, build_model, default_recipe
from .runs import EVAL_BATCH_SIZE, NotCachedError, TrainingRun, compare, hold_out, recipe_splits, train, trained_model
from .runtime import DEFAULT_SEED, pick_device, seed_everything
from .training import fit, train_epoch, training_step

__all__ = [
    "DEFAULT_SEED",
    "EVAL_BATCH_SIZE",
    "MNIST_MEAN",
    "MNIST_STD",
    "MODELS",
    "RAW_FILES",
    "Batches",
    "Checkpoint",
    "CheckpointError",
    "ConvClassifier",
    "LinearClassifier",
    "MLPClassifier",
    "MNISTDataError",
    "Model",
    "NotCachedError",
    "Predictions",
    "Recipe",
    "Split",
    "StrongClassifier",
    "StrongClassifierWithoutBatchNorm",
    "TensorBatches",
    "TrainingRun",
    "architecture_name",
    "build_model",
    "centre_by_mass",
    "compare",
    "confident_mistakes",
    "confusion_matrix",
    "count_parameters",
    "crop_to_ink",
    "data_root",
    "default_recipe",
    "digit_grid",
    "ensure_mnist",
    "evaluate",
    "export_onnx",
    "fit",
    "fit_in_box",
    "hold_out",
    "image_path",
    "ink_map",
    "load_checkpoint",
    "load_split",
    "mnist_dataset",
    "mnist_like",
    "mnist_loader",
    "mnist_transform",
    "normalise",
    "per_class_accuracy",
    "pick_device",
    "plot_comparison",
    "plot_confusion_matrix",
    "plot_history",
    "random_affine",
    "recipe_splits",
    "save_checkpoint",
    "seed_everything",
    "show_confident_mistakes",
    "show_digits",
    "show_predictions",
    "train",
    "train_epoch",
    "trained_model",
    "training_step",
]
