"""Scheduled jobs, events, the package manifest columns and an execution's event depth.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('trigger_events_json', sa.Text(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('allow_manual_triggering', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_depth', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.create_table('scheduled_jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('package_id', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('cron', sa.String(length=128), nullable=True),
    sa.Column('params_json', sa.Text(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'], name=op.f('fk_scheduled_jobs_package_id_packages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_jobs'))
    )
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_jobs_next_run_at'), ['next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scheduled_jobs_package_id'), ['package_id'], unique=False)
    op.create_table('events',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=256), nullable=False),
    sa.Column('source', sa.String(length=512), nullable=False),
    sa.Column('time', sa.DateTime(), nullable=False),
    sa.Column('data_json', sa.Text(), nullable=False),
    sa.Column('topic', sa.String(length=256), nullable=True),
    sa.Column('reference_id', sa.String(length=256), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('sender_package_id', sa.String(length=32), nullable=True),
    sa.Column('sender_execution_id', sa.String(length=32), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(), nullable=True),
    sa.Column('triggered_json', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_dispatched_at'), ['dispatched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_time'), ['time'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_type'), ['type'], unique=False)


def downgrade() -> None:
    op.drop_table('events')
    op.drop_table('scheduled_jobs')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('event_depth')
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.drop_column('allow_manual_triggering')
        batch_op.drop_column('active')
        batch_op.drop_column('trigger_events_json')
        batch_op.drop_column('schedule')
