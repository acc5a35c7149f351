"""disclosure package: encrypted package files and their time-limited download tokens

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure_package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("downloaded_count", sa.Integer(), nullable=False),
        sa.Column("last_downloaded_at", models.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("disclosure_package", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_package_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_disclosure_package_reference"), ["reference"], unique=False)
        batch_op.create_index(batch_op.f("ix_disclosure_package_request_id"), ["request_id"], unique=False)
        batch_op.create_index(
            "uq_disclosure_package_unrevoked",
            ["request_id"],
            unique=True,
            sqlite_where=sa.text("revoked = 0"),
            postgresql_where=sa.text("revoked = false"),
        )


def downgrade() -> None:
    with op.batch_alter_table("disclosure_package", schema=None) as batch_op:
        batch_op.drop_index("uq_disclosure_package_unrevoked")
        batch_op.drop_index(batch_op.f("ix_disclosure_package_request_id"))
        batch_op.drop_index(batch_op.f("ix_disclosure_package_reference"))
        batch_op.drop_index(batch_op.f("ix_disclosure_package_expires_at"))
    op.drop_table("disclosure_package")
