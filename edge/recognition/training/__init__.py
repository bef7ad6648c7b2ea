"""Training the product recognizer (``edgestore train-recognizer``, the ``train`` extra).

Importing this package imports no TensorFlow: ``command`` is the CLI command (it imports TensorFlow
lazily and says how to install it when it is missing), ``data`` makes the synthetic training and
evaluation sets (numpy), ``evaluate`` measures an exported model with the node's runtime
(``edge.recognition.embedder``), ``bundle`` writes the model bundle (the node's ``edge.recognition.bundle``
reads it). Only ``train``, ``model`` and ``export`` import TensorFlow/Keras (an import-linter
contract keeps the rest of ``edge`` free of it).
"""
