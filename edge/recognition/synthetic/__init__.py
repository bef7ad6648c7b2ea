"""A deterministic generator of synthetic products and of kiosk-camera shots of them (PIL, numpy, OpenCV;
no TensorFlow): training data for the recognizer, enrolment photos for tests and the demo, and objects in
no catalog for measuring false accepts. docs/recognition.md shows samples.

>>> split = dataset_split(train_products=200, held_out_products=40)
>>> photo = kiosk_shot(product_image(split.held_out[0], variant=1), np.random.default_rng(7))
"""

from edge.recognition.synthetic.camera import SHOT_SIZE, kiosk_shot
from edge.recognition.synthetic.products import (
    ProductDesign,
    design,
    distractor,
    product_image,
    variant_count,
)
from edge.recognition.synthetic.split import DatasetSplit, dataset_split

__all__ = [
    "SHOT_SIZE",
    "DatasetSplit",
    "ProductDesign",
    "dataset_split",
    "design",
    "distractor",
    "kiosk_shot",
    "product_image",
    "variant_count",
]
