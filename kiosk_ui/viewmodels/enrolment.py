"""Teaching the node a product (issue 18's enrolment), in staff mode: a staff member finds the product with
the shopper's search (``Catalog``) and picks its variant (``ProductDetail``), then the camera takes about six
photos while the product is turned in front of it, and "save" sends them to the node
(``POST /recognition/enroll``), which computes the reference embeddings itself: the variant is recognised at
once. "Forget" deletes the variant's reference photos at the node.

The node takes any staff member's token for both (``StaffDep``: a cashier is enough), so every logged-in
staff member may teach. Without a login nothing is sent (``StaffOnly``); the node would refuse it anyway.
"""

from enum import StrEnum

from kiosk_ui.hardware.camera import Camera
from kiosk_ui.viewmodels.catalog import Catalog, ProductDetail
from kiosk_ui.viewmodels.node_api import NodeApi
from kiosk_ui.viewmodels.observable import Observable
from kiosk_ui.viewmodels.staff import StaffMode
from models.node_api import EnrollmentResult, ReferencesDeleted, VariantPublic

FRAMES = 6  # photos of one variant: what the model was measured with (docs/recognition.md)
EVERY_S = 0.5  # between two photos, while the product is turned


class Step(StrEnum):
    PICK = "pick"  # find the product, choose its variant
    READY = "ready"  # the camera shows the product; "start" takes the photos
    CAPTURING = "capturing"  # a photo every EVERY_S until FRAMES
    CAPTURED = "captured"  # all photos taken: save them, or take them again
    SAVED = "saved"  # the node keeps them: how many references the variant has now


class StaffOnly(PermissionError):
    """Only a logged-in staff member teaches the kiosk a product."""


class Enrolment(Observable):
    def __init__(self, node: NodeApi, camera: Camera, staff: StaffMode, frames: int = FRAMES) -> None:
        super().__init__()
        self.node, self.camera, self.staff, self.frames = node, camera, staff, frames
        self.catalog = Catalog(node)  # the shopper's search and pages, for finding the product
        self.detail: ProductDetail | None = None
        self.step = Step.PICK
        self.frame: bytes | None = None  # the camera's latest still (the preview)
        self.photos: list[bytes] = []
        self.saved: EnrollmentResult | None = None
        self.forgotten: ReferencesDeleted | None = None
        self.camera_on = False

    def _allowed(self) -> None:
        if not self.staff.logged_in:
            raise StaffOnly("log in as staff to teach a product")

    # --- which variant --------------------------------------------------------------------------------

    def open_product(self, product_id: str) -> ProductDetail:
        """A product found in the list: its variants to choose from (the default one first)."""
        self.detail = ProductDetail(self.node, product_id)
        self.changed()
        return self.detail

    def close_product(self) -> None:
        self.detail = None
        self.changed()

    @property
    def variant(self) -> VariantPublic | None:
        return self.detail.variant if self.detail is not None else None

    def use(self, variant_id: str) -> None:
        """Teach this variant: the camera comes on and shows it."""
        self._allowed()
        assert self.detail is not None
        self.detail.choose(variant_id)
        self.camera.start()
        self.camera_on = True
        self.photos, self.saved, self.forgotten, self.frame = [], None, None, None
        self.step = Step.READY
        self.changed()

    # --- the photos -----------------------------------------------------------------------------------

    def begin(self) -> None:
        """ "Start": from now a photo every ``EVERY_S`` (the screen's clock calls ``capture``)."""
        self._allowed()
        if self.step in (Step.READY, Step.CAPTURED, Step.SAVED):
            self.photos, self.saved, self.forgotten = [], None, None
            self.step = Step.CAPTURING
            self.changed()

    def capture(self) -> bytes:
        """One still from the camera: the preview, and while capturing one of the photos to send."""
        frame = self.camera.capture()
        self.frame = frame
        if self.step is Step.CAPTURING and len(self.photos) < self.frames:
            self.photos.append(frame)
            if len(self.photos) == self.frames:
                self.step = Step.CAPTURED
        self.changed()
        return frame

    @property
    def taken(self) -> int:
        return len(self.photos)

    def retake(self) -> None:
        """The photos are not good (a hand in front, the product out of view): start over."""
        self.photos, self.saved = [], None
        self.step = Step.READY
        self.changed()

    def save(self) -> EnrollmentResult:
        """Send the photos to the node, which keeps them as the variant's references (once: the client
        never repeats it, since a repeat would keep them twice). On a refusal the photos stay, to try
        again."""
        self._allowed()
        variant = self.variant
        assert variant is not None
        assert self.step is Step.CAPTURED
        self.saved = self.node.enroll(variant.variant_id, list(self.photos))
        self.photos = []
        self.step = Step.SAVED
        self.changed()
        return self.saved

    def forget(self) -> ReferencesDeleted:
        """Delete every reference photo of the variant at the node: it is no longer recognised."""
        self._allowed()
        variant = self.variant
        assert variant is not None
        self.forgotten = self.node.delete_references(variant.variant_id)
        self.saved = None
        if self.step is Step.SAVED:
            self.step = Step.READY
        self.changed()
        return self.forgotten

    def cancel(self) -> None:
        """Back to choosing a product: the camera off, the photos dropped."""
        self.stop()
        self.photos, self.saved, self.forgotten, self.frame = [], None, None, None
        self.step = Step.PICK
        self.changed()

    def stop(self) -> None:
        """The screen is left: the camera goes off."""
        if self.camera_on:
            self.camera.stop()
            self.camera_on = False
