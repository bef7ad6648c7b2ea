"""The kiosk's screens, in one table: a name to go to, and the class that draws it. The screens are
imported only when the app starts (they import Kivy, which must be set up first: ``kivy_setup``)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    name: str
    screen: str  # "module:Class" under kiosk_ui.screens


ROUTES = (
    Route("attract", "attract:AttractScreen"),  # idle: touch to start
    Route("browse", "browse:BrowseScreen"),  # categories, search with the on-screen keyboard, products
    Route("product", "product:ProductScreen"),  # one product: variants, stock, discount, add
    Route("cart", "cart:CartScreen"),  # lines, quantities, coupon, total
    Route("pay", "pay:PayScreen"),  # cash (given, change) or card through the terminal; the e-invoice
    Route("receipt", "receipt:ReceiptScreen"),  # order number, lines, totals, QR; printed
    Route("phone-cart", "phone_cart:PhoneCartScreen"),  # a phone's hand-off code, typed or its QR seen
    Route("scan", "scan:ScanScreen"),  # the camera, the recogniser's top three (when the node has a model)
    Route("staff-login", "staff:StaffLoginScreen"),  # a staff member's name and PIN
    Route("staff", "staff:StaffScreen"),  # find an order by its number or QR; a manager takes it back
    Route("end-of-day", "end_of_day:EndOfDayScreen"),  # the X-report; a manager closes the Z-report
    Route("enrol", "enrol:EnrolScreen"),  # staff teach the recogniser a variant: photos from the camera
)
HOME = "attract"
