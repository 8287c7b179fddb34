"""Flax target models, exposed to attacks as ``(apply_fn, params)``.

Each model is a pair of pure functions bundled in :class:`Model`:
``init(key, x) -> params`` and ``apply(params, x) -> logits`` for a batch
``x`` of shape ``[batch, num_features]`` (images are flattened; the CNN
reshapes them back). ``jax.vmap`` over ``init`` with a batch of keys gives an
ensemble; that is how ``training.fit_many`` trains many models at once.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxpriv import _validate

Params = Any
ApplyFn = Callable[[Params, jax.Array], jax.Array]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": nn.sigmoid,
    "gelu": nn.gelu,
    "identity": lambda x: x,
}


class Model(NamedTuple):
    """A target architecture as two pure functions.

    Attributes:
      name: architecture name.
      init: ``init(key, x) -> params`` with ``x`` ``[batch, num_features]``.
      apply: ``apply(params, x) -> logits [batch, num_classes]``.
      module: the Flax module (for extra methods such as the DAE's
        ``reconstruct``).
      num_features: input width.
      num_classes: output width.
    """

    name: str
    init: Callable[[jax.Array, jax.Array], Params]
    apply: ApplyFn
    module: nn.Module
    num_features: int
    num_classes: int


class SoftmaxRegression(nn.Module):
    """Multinomial logistic regression: ``logits = x W + b``."""

    num_classes: int

    @nn.compact
    def __call__(self, x):
        return nn.Dense(self.num_classes, name="linear")(x)


class MLP(nn.Module):
    """Fully connected network; Fredrikson et al. (CCS 2015) use one hidden
    layer of 3000 sigmoid units for the AT&T faces."""

    hidden: Sequence[int]
    num_classes: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        for i, width in enumerate(self.hidden):
            x = act(nn.Dense(width, name=f"hidden_{i}")(x))
        return nn.Dense(self.num_classes, name="out")(x)


class DAEClassifier(nn.Module):
    """Stacked denoising-autoencoder classifier (Fredrikson et al., CCS 2015, §5.1).

    The encoder (sigmoid layers ``hidden``) maps an image to a code; a softmax
    layer on the code classifies, and a mirrored decoder reconstructs the image.
    ``__call__`` returns class logits; ``reconstruct`` returns the denoised
    image in [0, 1]; ``encode`` returns the code. MI-Face's PROCESS step for this
    target denoises through ``reconstruct`` and then sharpens.
    """

    hidden: Sequence[int]
    num_classes: int
    num_features: int

    def setup(self):
        self.enc = [nn.Dense(w, name=f"enc_{i}") for i, w in enumerate(self.hidden)]
        widths = list(self.hidden[:-1])[::-1] + [self.num_features]
        self.dec = [nn.Dense(w, name=f"dec_{i}") for i, w in enumerate(widths)]
        self.head = nn.Dense(self.num_classes, name="head")

    def encode(self, x):
        for layer in self.enc:
            x = nn.sigmoid(layer(x))
        return x

    def decode(self, z):
        for layer in self.dec:
            z = nn.sigmoid(layer(z))
        return z

    def reconstruct(self, x):
        return self.decode(self.encode(x))

    def __call__(self, x):
        z = self.encode(x)
        # Touch the decoder at init so its parameters exist in the same tree.
        if self.is_initializing():
            self.decode(z)
        return self.head(z)


class CNN(nn.Module):
    """A small convolutional classifier over flattened ``[h, w]`` images."""

    image_shape: tuple[int, int]
    num_classes: int
    channels: Sequence[int] = (16, 32)
    dense: int = 64

    @nn.compact
    def __call__(self, x):
        x = x.reshape((x.shape[0],) + tuple(self.image_shape) + (1,))
        for i, c in enumerate(self.channels):
            x = nn.relu(nn.Conv(c, (3, 3), name=f"conv_{i}")(x))
            x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(self.dense, name="dense")(x))
        return nn.Dense(self.num_classes, name="out")(x)


MODELS = ("softmax", "mlp", "dae", "cnn")


def _wrap(name: str, module: nn.Module, num_features: int, num_classes: int) -> Model:
    def init(key, x):
        return module.init(key, x)["params"]

    def apply(params, x):
        return module.apply({"params": params}, x)

    return Model(name, init, apply, module, num_features, num_classes)


def make_model(
    name: str,
    *,
    num_features: int,
    num_classes: int,
    hidden: Sequence[int] = (128,),
    activation: str = "relu",
    image_shape: tuple[int, int] | None = None,
    channels: Sequence[int] = (16, 32),
) -> Model:
    """Builds a target model by name.

    Args:
      name: one of ``MODELS``: ``"softmax"``, ``"mlp"``, ``"dae"``, ``"cnn"``.
      num_features: input width ``d``.
      num_classes: number of classes ``c``.
      hidden: hidden widths (MLP, DAE encoder).
      activation: MLP activation, one of ``ACTIVATIONS``.
      image_shape: ``(h, w)`` with ``h * w == num_features`` (CNN only).
      channels: CNN channels per conv layer.

    Returns:
      A :class:`Model`; ``model.apply(params, x[n, d]) -> logits[n, c]``.

    Example:
      >>> m = make_model("mlp", num_features=64, num_classes=10, hidden=(32,))
      >>> params = m.init(jax.random.key(0), jnp.zeros((1, 64)))
    """
    _validate.one_of("model", name, MODELS)
    _validate.positive("num_features", num_features)
    if num_classes < 2:
        raise ValueError(f"Expected num_classes={num_classes} >= 2.")
    if name == "softmax":
        module = SoftmaxRegression(num_classes)
    elif name == "mlp":
        _validate.one_of("activation", activation, ACTIVATIONS)
        module = MLP(tuple(hidden), num_classes, activation)
    elif name == "dae":
        module = DAEClassifier(tuple(hidden), num_classes, num_features)
    else:
        if image_shape is None or image_shape[0] * image_shape[1] != num_features:
            raise ValueError(
                f"Expected image_shape with h * w == num_features={num_features} for the"
                f" CNN; got image_shape={image_shape}.")
        module = CNN(tuple(image_shape), num_classes, tuple(channels))
    return _wrap(name, module, num_features, num_classes)


def dae_reconstruct_fn(model: Model) -> Callable[[Params, jax.Array], jax.Array]:
    """``reconstruct(params, x[n, d]) -> x_denoised[n, d]`` for a DAE model."""
    if not isinstance(model.module, DAEClassifier):
        raise ValueError(f"Expected a 'dae' model; got model={model.name!r}.")
    module = model.module

    def reconstruct(params, x):
        return module.apply({"params": params}, x, method=DAEClassifier.reconstruct)

    return reconstruct


def count_params(params: Params) -> int:
    """Number of scalars in a parameter tree."""
    return int(sum(p.size for p in jax.tree_util.tree_leaves(params)))
