"""Training the product recognizer (``edgestore train-recognizer``, the ``train`` extra).

Importing this package imports no TensorFlow: ``command`` is the CLI command (it imports TensorFlow
lazily and says how to install it when it is missing), ``data`` makes the synthetic training and
evaluation sets (numpy), ``evaluate`` measures an exported model with LiteRT, ``bundle`` writes and reads
the model bundle. Only ``train``, ``model`` and ``export`` import TensorFlow/Keras (an import-linter
contract keeps the rest of ``edge`` free of it).
"""
