"""message copies: what each message said and who it went to (MessageCopy), linked from Notification.copy_id, so an
officer can send any message again. Rows sent before this revision keep copy_id NULL (no copy).

Revision ID: 0060_message_copies
Revises: 0040_officers_workspace
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0060_message_copies"
down_revision = "0040_officers_workspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messagecopy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("to_json", sa.Text(), nullable=False),
        sa.Column("cc_json", sa.Text(), nullable=False),
        sa.Column("tags_json", sa.Text(), nullable=False),
        sa.Column("attachments_json", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("thread_references", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("copy_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_notification_copy_id_messagecopy", "messagecopy", ["copy_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint("fk_notification_copy_id_messagecopy", type_="foreignkey")
        batch_op.drop_column("copy_id")
    op.drop_table("messagecopy")
