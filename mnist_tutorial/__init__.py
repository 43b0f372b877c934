"""Helpers for the book *PyTorch, from tensors to handwritten digits*.

The chapters teach the ideas with plain PyTorch; this package holds the parts they reuse:
finding and verifying MNIST, the two classifiers, the training and evaluation loops, the
figures and checkpoints.
"""

__version__ = "0.1.0"

from .augment import random_affine
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .data import (
    DEFAULT_SEED,
    MNIST_MEAN,
    MNIST_STD,
    RAW_FILES,
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
from .evaluation import Predictions, confident_mistakes, confusion_matrix, per_class_accuracy, predict
from .handwriting import mnist_like
from .models import ConvClassifier, FastDropout, LinearClassifier, StrongClassifier, build_model, count_parameters
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
from .runtime import pick_device, seed_everything
from .training import (
    EVAL_BATCH_SIZE,
    NOTEBOOK_RECIPES,
    Evaluation,
    Recipe,
    TrainingRun,
    compare,
    evaluate,
    fit,
    train,
    train_epoch,
    trained_model,
)

__all__ = [
    "DEFAULT_SEED",
    "EVAL_BATCH_SIZE",
    "MNIST_MEAN",
    "MNIST_STD",
    "NOTEBOOK_RECIPES",
    "RAW_FILES",
    "Checkpoint",
    "CheckpointError",
    "ConvClassifier",
    "Evaluation",
    "FastDropout",
    "LinearClassifier",
    "MNISTDataError",
    "Predictions",
    "Recipe",
    "Split",
    "StrongClassifier",
    "TensorBatches",
    "TrainingRun",
    "build_model",
    "compare",
    "confident_mistakes",
    "confusion_matrix",
    "count_parameters",
    "data_root",
    "digit_grid",
    "ensure_mnist",
    "evaluate",
    "fit",
    "image_path",
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
    "predict",
    "random_affine",
    "save_checkpoint",
    "seed_everything",
    "show_confident_mistakes",
    "show_digits",
    "show_predictions",
    "train",
    "train_epoch",
    "trained_model",
]
