"""account pages: each account's last sign-in, and whether it must change a temporary password at sign-in

Revision ID: 0070_account_pages
Revises: 0060_message_copies
Create Date: 2026-11-30 23:59:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0070_account_pages'
down_revision = '0060_message_copies'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('last_sign_in_at')
