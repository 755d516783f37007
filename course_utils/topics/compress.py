"""Model compression helpers: magnitude pruning masks, and logits for knowledge distillation.

Taught in notebook 10 (make it small and ship it). Only Keras 3's own API is used, so these run
on any Keras backend.

Pruning. Keras 3 has no pruning API, and the TensorFlow Model Optimization Toolkit, which had one
(``tfmot.sparsity.keras.prune_low_magnitude``), only works with the legacy ``tf_keras`` (Keras 2)
models, not Keras 3. The method itself is small enough to write in a few lines and read in full:

1. :func:`magnitude_mask` — for one kernel, a 0/1 mask that zeroes the fraction ``sparsity`` of its
   weights with the smallest absolute value (Han et al., "Learning both Weights and Connections
   for Efficient Neural Networks", NeurIPS 2015);
2. :func:`prune_by_magnitude` — applies such a mask to every convolution and dense kernel, and
   attaches a :class:`MaskConstraint` to each kernel, so that fine-tuning cannot bring a pruned
   weight back: Keras's optimizers apply a variable's ``constraint`` after every update;
3. :func:`strip_masks` — removes the constraints after fine-tuning (the zeros stay), so the model
   saves and loads like any other;
4. :func:`sparsity` — the fraction of zero weights per layer, to check that the masks held.

Distillation. ``keras.distillation.LogitsDistillation`` divides the teacher's and the student's
outputs by the temperature and applies a softmax: it expects *logits*. The course's CNNs end in a
softmax, so :func:`logits_model` gives the same network without its final softmax (sharing every
weight), and :func:`with_softmax` puts a softmax back on a student trained on logits.
:func:`logits_distillation` builds the loss with an explicit ``keras.losses.KLDivergence()``: in
Keras 3.15.1 the default ``loss="kl_divergence"`` resolves to the plain function, which the loss's
``isinstance(..., KLDivergence)`` test does not recognise, so the softmax and the T² factor are
skipped and the KL formula is applied to raw scaled logits (it even goes negative).
:func:`distillation_loss_reference` is the formula in NumPy, to check against.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

PRUNABLE = (keras.layers.Conv2D, keras.layers.Dense)


# --------------------------------------------------------------------------- pruning


def magnitude_mask(weights: Any, sparsity: float) -> np.ndarray:
    """A float32 mask shaped like ``weights``: 0 for the ``round(sparsity * size)`` smallest ``|w|``, else 1.

    Ties are broken by position (a stable sort), so exactly that many weights are zeroed.
    Taught in notebook 10.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    values = np.abs(np.asarray(weights, dtype=np.float64))
    count = round(sparsity * values.size)
    mask = np.ones(values.size, dtype=np.float32)
    mask[np.argsort(values, axis=None, kind="stable")[:count]] = 0.0
    return mask.reshape(values.shape)


@keras.saving.register_keras_serializable(package="course_utils")
class MaskConstraint(keras.constraints.Constraint):
    """A kernel constraint that multiplies the kernel by a fixed 0/1 mask after every optimizer step.

    Pruned weights therefore stay exactly zero while the others keep learning. Not meant to be
    saved with the model: call :func:`strip_masks` before saving. Taught in notebook 10.
    """

    def __init__(self, mask: Any) -> None:
        self.mask = np.asarray(mask, dtype=np.float32)

    def __call__(self, w: Any) -> Any:
        return w * keras.ops.cast(self.mask, w.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"mask": self.mask.tolist()}


def prunable_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The convolution and dense layers of ``model`` (nested models included) whose kernels pruning masks."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(prunable_layers(layer))
        elif isinstance(layer, PRUNABLE) and getattr(layer, "kernel", None) is not None:
            found.append(layer)
    return found


def prune_by_magnitude(model: keras.Model, sparsity: float, *, skip: tuple[str, ...] = ()) -> dict[str, float]:
    """Zero the smallest-magnitude ``sparsity`` of every conv/dense kernel, in place, and keep them zero.

    Each kernel is masked layer by layer (every layer loses the same fraction) and given a
    :class:`MaskConstraint`; layers named in ``skip`` are left alone. Compile and fine-tune
    afterwards (the optimizer applies the constraints), then :func:`strip_masks`. Returns each pruned
    layer's achieved sparsity. Taught in notebook 10.
    """
    achieved = {}
    for layer in prunable_layers(model):
        if layer.name in skip:
            continue
        mask = magnitude_mask(layer.kernel.numpy(), sparsity)
        layer.kernel.assign(layer.kernel.numpy() * mask)
        layer.kernel.constraint = MaskConstraint(mask)
        achieved[layer.name] = float(1.0 - mask.mean())
    if not achieved:
        raise ValueError(f"{model.name} has no Conv2D or Dense kernels to prune (skip={skip!r})")
    return achieved


def strip_masks(model: keras.Model) -> int:
    """Remove the :class:`MaskConstraint` of every kernel (the zeros stay); returns how many were removed."""
    removed = 0
    for layer in prunable_layers(model):
        if isinstance(layer.kernel.constraint, MaskConstraint):
            layer.kernel.constraint = None
            removed += 1
    return removed


def sparsity(model: keras.Model) -> dict[str, float]:
    """Fraction of exactly-zero weights in each conv/dense kernel, and ``"total"`` over all of them."""
    zeros, total, report = 0, 0, {}
    for layer in prunable_layers(model):
        kernel = layer.kernel.numpy()
        report[layer.name] = float(np.mean(kernel == 0))
        zeros += int(np.sum(kernel == 0))
        total += kernel.size
    report["total"] = zeros / total if total else 0.0
    return report


# --------------------------------------------------------------------------- distillation


def logits_model(model: keras.Model, *, name: str | None = None) -> keras.Model:
    """``model`` without the softmax of its last Dense layer: same input, same weights, logits out.

    The layers before the last are shared with ``model`` (training one trains the other); the last
    Dense layer is rebuilt without its activation and given a copy of its weights. Raises
    ``ValueError`` when the model does not end in a softmax Dense layer. Taught in notebook 10.
    """
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if not isinstance(last, keras.layers.Dense) or getattr(activation, "__name__", "") != "softmax":
        raise ValueError(
            f"{model.name} must end in a Dense layer with a softmax activation, "
            f"got {type(last).__name__} with activation {getattr(activation, '__name__', activation)!r}"
        )
    head = keras.layers.Dense(last.units, use_bias=last.use_bias, dtype="float32", name=f"{last.name}_logits")
    outputs = head(last.input)
    head.set_weights(last.get_weights())
    return keras.Model(model.inputs, outputs, name=name or f"{model.name}_logits")


def with_softmax(model: keras.Model, *, name: str | None = None) -> keras.Model:
    """A model that outputs probabilities: ``model`` (which outputs logits) followed by a softmax."""
    inputs = keras.Input(shape=model.inputs[0].shape[1:], name="image")
    outputs = keras.layers.Softmax(dtype="float32", name="probabilities")(model(inputs))
    return keras.Model(inputs, outputs, name=name or model.name.removesuffix("_logits"))


def logits_distillation(temperature: float) -> Any:
    """``keras.distillation.LogitsDistillation`` at ``temperature`` that computes T² · KL(teacher ‖ student).

    Passes ``loss=keras.losses.KLDivergence()`` explicitly (see the module docstring for why the
    default string does not work in Keras 3.15.1); :func:`distillation_loss_reference` checks it.
    Taught in notebook 10.
    """
    return keras.distillation.LogitsDistillation(temperature=temperature, loss=keras.losses.KLDivergence())


def distillation_loss_reference(teacher_logits: Any, student_logits: Any, temperature: float) -> float:
    """Hinton et al.'s soft-target loss in NumPy: T² · mean over the batch of KL(softmax(t/T) ‖ softmax(s/T))."""

    def log_softmax(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64) / temperature
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    log_p, log_q = log_softmax(teacher_logits), log_softmax(student_logits)
    return float(temperature**2 * np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)))
