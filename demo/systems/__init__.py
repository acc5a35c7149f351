"""The eight demo systems, each its own database, in the order identity expansion uses."""

from demo.systems import (
    analytics,
    billing,
    customers,
    delivery_contractor,
    marketing,
    orders,
    points,
    support,
)

DEFINITIONS = {
    d.key: d
    for d in (
        customers.DEF,
        orders.DEF,
        billing.DEF,
        marketing.DEF,
        points.DEF,
        support.DEF,
        analytics.DEF,
        delivery_contractor.DEF,
    )
}
