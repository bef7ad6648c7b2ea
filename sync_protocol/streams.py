"""The named streams a store node sends up to the cloud. Each has its own sequence and acknowledgement."""

from enum import StrEnum


class Stream(StrEnum):
    ORDERS = "orders"  # a sale: the order with its items and payments, as sold
    STOCK_DELTAS = "stockDeltas"  # signed stock changes with a reason
    ORDER_STATUS = "orderStatus"  # status transitions made at the store after the sale
    FOOTFALL = "footfall"  # door events
