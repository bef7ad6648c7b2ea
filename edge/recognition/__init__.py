"""On-device product recognition (issue 18): a small image-embedding network run by LiteRT, and a
nearest-neighbour search over the reference embeddings of the store's enrolled variants.

- ``preprocess``: the one preprocessing function (centre crop, resize) that training, evaluation and the
  node share; no TensorFlow.
- ``synthetic``: a deterministic generator of synthetic products and kiosk-camera shots of them (PIL, numpy,
  OpenCV; no TensorFlow), for training, tests, the demo and enrolment photos.
- ``training``: the TensorFlow training and int8 export behind ``edgestore train-recognizer`` (the ``train``
  extra). Nothing else in ``edge`` imports TensorFlow or Keras (an import-linter contract).
- ``assets/product-recognizer.zip``: the shipped model bundle (docs/recognition.md).
"""
