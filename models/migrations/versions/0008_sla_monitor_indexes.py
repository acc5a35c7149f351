"""SLA monitor indexes: open requests by due date, open clock pauses by deadline (partial:
only what is still open, so the monitor's scan does not grow with the closed history)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN_REQUEST = sa.text("status NOT IN ('closed', 'completed', 'refused', 'withdrawn')")
OPEN_PAUSE = sa.text("ended_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_request_open_due",
            ["due_at"],
            unique=False,
            sqlite_where=OPEN_REQUEST,
            postgresql_where=OPEN_REQUEST,
        )
    with op.batch_alter_table("clock_pause", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clock_pause_open_deadline",
            ["deadline_at"],
            unique=False,
            sqlite_where=OPEN_PAUSE,
            postgresql_where=OPEN_PAUSE,
        )


def downgrade() -> None:
    with op.batch_alter_table("clock_pause", schema=None) as batch_op:
        batch_op.drop_index("ix_clock_pause_open_deadline")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index("ix_request_open_due")
