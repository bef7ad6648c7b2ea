"""The named streams a store node sends up to the cloud, and the kinds of message the cloud sends down.

Each uplink stream has its own sequence numbers and acknowledgements per device. Downlink messages need no
sequence: each is idempotent on its own (a catalog version, a delta's version range, a transition's clock,
a stock delta's id).
"""

from enum import StrEnum


class Stream(StrEnum):
    ORDERS = "orders"  # a sale: the order with its items and payments, as sold
    STOCK_DELTAS = "stockDeltas"  # signed stock changes with a reason
    ORDER_STATUS = "orderStatus"  # status transitions made at the store after the sale
    ORDER_RETURNS = "orderReturns"  # partial returns made at the store: units back, their refund
    FOOTFALL = "footfall"  # door events
    Z_REPORTS = "zReports"  # a till's period closed at the store (a Z-report, models.end_of_day.ZReport)


class DownlinkKind(StrEnum):
    CATALOG = "catalog"  # a new catalog snapshot to fetch (CatalogAnnouncement)
    CATALOG_DELTA = "catalogDelta"  # the changes from the held catalog version to the next (CatalogDelta)
    ORDER_STATUS = "orderStatus"  # a status transition made in the cloud (OrderTransition)
    STOCK = "stock"  # a stock delta made in the cloud: restock, count, write-off (StockAdjustment)
    STAFF = "staff"  # a staff account of the store, as the cloud has it now (StaffChange)
    MODEL = "model"  # a new version of a model file to fetch, e.g. the recognition model (ModelAnnouncement)
    # a new version of the seller's cloud-enrolled recognition photos to fetch (RecognitionPhotosAnnouncement)
    RECOGNITION_PHOTOS = "recognitionPhotos"
