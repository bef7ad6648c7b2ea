"""The embedder: a small MobileNet-style network built from scratch (no pretrained weights), and the
cosine-margin (CosFace) head it is trained with.

Traps measured on this project (docs/recognition.md): BatchNorm momentum 0.9, not Keras applications'
0.999, which leaves the moving statistics far from the weights after a short training and collapses the
embeddings at inference; the L2 normalisation is ``tf.math.l2_normalize`` (int8 ``L2_NORMALIZATION`` in
the exported graph), not ``keras.layers.UnitNormalization``, which leaves a float island in it.
"""

import keras
import tensorflow as tf

BN_MOMENTUM = 0.9
# (output channels, stride) of the depthwise-separable blocks after the stem; a block with stride 1 and
# the same width adds its input back (a residual).
BLOCKS = ((32, 1), (48, 2), (48, 1), (96, 2), (96, 1), (96, 1), (160, 2), (160, 1), (160, 1), (256, 1))


def limit_threads(threads: int) -> None:
    """TensorFlow's threads for a training run: ``threads`` within an operation, one across them. TensorFlow
    fixes them when it first runs something, so in a process that trained before (a test session training
    both models) the first run's setting stays."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # "cannot be modified after initialization"
        pass


class L2Normalize(keras.layers.Layer):  # type: ignore[misc]  # keras ships no type information
    """Unit-norm rows with ``tf.math.l2_normalize``: the TFLite converter makes it one int8 op."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.l2_normalize(x, axis=-1)


class CosineHead(keras.layers.Layer):  # type: ignore[misc]  # keras ships no type information
    """Cosine similarity of a unit embedding to one learnt unit vector per class (training only)."""

    def __init__(self, classes: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.classes = classes

    def build(self, input_shape: tuple[int, ...]) -> None:
        self.centres = self.add_weight(
            name="centres", shape=(int(input_shape[-1]), self.classes), initializer="glorot_uniform"
        )

    def call(self, embedding: tf.Tensor) -> tf.Tensor:
        return tf.matmul(embedding, tf.math.l2_normalize(self.centres, axis=0))


def cosface_loss(scale: float = 16.0, margin: float = 0.1) -> "keras.losses.Loss":
    """Softmax over ``scale * (cos - margin * [right class])``: pulls a variant's shots together and apart
    from every other variant by a margin, so the embedding separates variants it never saw."""

    def loss(y_true: tf.Tensor, cosines: tf.Tensor) -> tf.Tensor:
        labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        onehot = tf.one_hot(labels, tf.shape(cosines)[-1], dtype=cosines.dtype)
        logits = scale * (cosines - margin * onehot)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)

    return loss


def conv_bn(x: tf.Tensor, filters: int, kernel: int, stride: int, name: str) -> tf.Tensor:
    x = keras.layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu")(x)


def separable_block(x: tf.Tensor, filters: int, stride: int, name: str) -> tf.Tensor:
    """A MobileNet depthwise-separable block, residual when it keeps the size and width (also the door
    counter's person detector's, edge/footfall/detector_training.py)."""
    shortcut = x
    y = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    y = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_dw_bn")(y)
    y = keras.layers.ReLU(6.0, name=f"{name}_dw_relu")(y)
    y = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(y)
    y = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_pw_bn")(y)
    if stride == 1 and int(shortcut.shape[-1]) == filters:
        return keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(6.0, name=f"{name}_pw_relu")(y)


def embedder(size: int, embedding_dim: int, width: float = 1.0) -> keras.Model:
    """uint8-range RGB pictures (float 0-255, size x size) in, unit-norm embeddings out."""
    inputs = keras.Input((size, size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inputs)
    x = conv_bn(x, max(8, int(24 * width)), 3, 2, "stem")
    for k, (filters, stride) in enumerate(BLOCKS):
        x = separable_block(x, max(8, int(filters * width)), stride, f"b{k}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(embedding_dim, use_bias=False, name="embed")(x)
    # Centre the embedding before normalising it: the pooled ReLU features share one large positive
    # direction that otherwise makes every picture's embedding alike early in training.
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name="embed_bn")(x)
    outputs = L2Normalize(name="l2")(x)
    return keras.Model(inputs, outputs, name="product_embedder")
