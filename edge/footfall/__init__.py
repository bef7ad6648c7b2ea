"""The door counter (issue 21): people crossing the store's door line, counted on the Pi from a camera woken
by a PIR motion sensor, each crossing an event in the node's SQLite sent up by the outbox.

- ``events``: footfall events written (with their outbox message) and read back (``GET /api/v1/footfall``).
- ``line``, ``pipeline``: the door line and the vision pipeline (background subtraction, blob tracking,
  line crossings), pure over frames.
- ``synthetic``: door sequences generated with known truth, for tests and the benchmark.
- ``hardware``, ``counter``, ``cli``: the PIR and the camera behind small interfaces, the coordinator that
  wakes the camera on motion, and ``edgestore footfall run|count|calibrate``.
- ``preview``: what ``calibrate`` shows: a live window where there is a display (Kivy, imported only
  there), the annotated frame otherwise.

No image leaves the Pi or is stored (unless a technician asks ``calibrate`` for an annotated frame): only
counts and events.
"""
