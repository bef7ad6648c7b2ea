"""End of day: the X-report (any staff member: the till's period so far) and the Z-report (a manager closes
the period, numbered at this node, and it goes to the cloud); the Z-reports closed here, latest first.

The till's figures are the shop's business, so every route is staff only; closing the period is a
manager's, as undoing a sale is (the report is the record the drawer is checked against).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from edge import end_of_day
from edge.api.deps import CursorQuery, LimitQuery, ManagerDep, NodeDep, StaffDep
from models.end_of_day import XReport, ZReport
from models.money import MAX_TWD
from models.node_api import EndOfDayClose, Page
from models.paging import PlainInt
from models.staff import StaffRef

router = APIRouter(prefix="/end-of-day", tags=["end of day"])

NumberPath = Annotated[
    int, Path(ge=1, le=2_147_483_647, description="The Z-report's number at this node"), PlainInt
]


@router.get("/preview")
def preview(
    node: NodeDep,
    _member: StaffDep,
    opening_float: Annotated[
        int, Query(alias="openingFloat", ge=0, le=MAX_TWD, description="The cash put in the drawer"), PlainInt
    ] = 0,
    counted_cash: Annotated[
        int | None, Query(alias="countedCash", ge=0, le=MAX_TWD, description="The cash counted"), PlainInt
    ] = None,
) -> XReport:
    """The X-report: the till's period since its last Z-report, as it would close now, with the cash
    expected in the drawer for ``openingFloat`` and, given ``countedCash``, the drawer's over/short. Reading
    it changes nothing."""
    with node.db.read() as conn:
        return end_of_day.preview(conn, node.now(), opening_float=opening_float, counted_cash=counted_cash)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "A repeat with the same idempotencyKey: the report made the first time"}},
)
def close(body: EndOfDayClose, node: NodeDep, member: ManagerDep, response: Response) -> ZReport:
    """Close the till's period (a **manager**): the Z-report, numbered after this node's last one, covering
    every sale and refund made at the till since then; kept here and sent to the cloud. A repeat with the
    same ``idempotencyKey`` gets the same report (200); the key with other figures is 409
    ``idempotencyKeyReused``."""
    with node.db.write() as conn:
        report, made = end_of_day.close(
            conn, body, staff=StaffRef(staff_id=member.staff_id, name=member.name), now=node.now()
        )
    if made:
        node.cloud.nudge()  # committed: the report goes up now
    else:
        response.status_code = status.HTTP_200_OK
    return report


@router.get("")
def list_reports(
    node: NodeDep, _member: StaffDep, cursor: CursorQuery = None, limit: LimitQuery = 20
) -> Page[ZReport]:
    """The Z-reports closed at this node, the latest first."""
    with node.db.read() as conn:
        return end_of_day.list_reports(conn, cursor=cursor, limit=limit)


@router.get("/{number}")
def get_report(number: NumberPath, node: NodeDep, _member: StaffDep) -> ZReport:
    """One Z-report by its number; 404 ``zReportNotFound``."""
    with node.db.read() as conn:
        return end_of_day.get_report(conn, number)
