"""operator accounts: the people and the service that reach Prefect through the gate, with
their role and an argon2 hash of the password (issue 12)

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "operator", "officer", "admin", "service", name="accountrole", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operator_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_account_name"), ["name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("operator_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_account_name"))
    op.drop_table("operator_account")
