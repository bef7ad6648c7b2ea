"""Every error recognition raises, in one place.

``BadModel`` is a model bundle the node will not serve (unreadable, truncated, not its format, a checksum
that does not match, shapes that are not what its ``model.json`` says); the model serving before keeps
serving. The others are a request's problems, answered in the API's error shape (``models.errors``).
"""

from models.errors import DomainError, InvalidInput, NotFound


class BadModel(Exception):
    """A model bundle refused; ``reason`` says why, for the logs and for what the node reports."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAnImage(InvalidInput):
    code = "notAnImage"


class ImageTooLarge(DomainError):
    status = 413
    code = "imageTooLarge"


class VariantNotFound(NotFound):
    code = "variantNotFound"


class ModelNotLoaded(DomainError):
    """No recognition model is loaded (none shipped or delivered loads): 503 until one does."""

    status = 503
    code = "modelNotLoaded"
