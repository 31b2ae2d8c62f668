"""Every PostgreSQL advisory-lock key the service takes, in one table.

Advisory locks are one namespace per database shared by every process and
every feature: two features that picked the same key by accident would
serialize each other, or (worse) one would think it holds what the other does.
So every key, and every namespace of the two-integer form, is declared here
and nowhere else; a new user of advisory locks adds its line below.

PostgreSQL keeps the single-bigint keys and the two-integer keys apart
(`pg_locks.objsubid` 1 and 2), so the two families cannot collide with each
other.

    single bigint
        MIGRATION_LOCK      one migrator at a time (migrations/env.py), xact-level
        EVENT_LOG_LOCK      positions drawn at commit (the trigger of migration 0001),
                            xact-level; the migration keeps its own literal (migrations
                            are history), tests/db/test_lock_keys.py checks they agree
    two integers (namespace, key)
        ENTITY_NAMESPACE    per-entity serialization, key hashtext(name) (app/store/locks.py)
        JOB_NAMESPACE       one run of a job per tick, key crc32(job name) (app/jobs.py)
        ALERT_NAMESPACE     alert lock buckets, key hashtext(id) & mask (app/store/alerts.py)
        LEADER_NAMESPACE    the fleet's leaders, session-level on a direct connection
                            (app/leadership.py): LEADER_KEY the periodic jobs' leader,
                            RELAY_KEY the one active relay (app/broker/relay.py)
"""

from __future__ import annotations

from typing import Final

MIGRATION_LOCK: Final = 0x0B51_D6E0
EVENT_LOG_LOCK: Final = 0x0B51_D6E1

ENTITY_NAMESPACE: Final = 1
JOB_NAMESPACE: Final = 2
ALERT_NAMESPACE: Final = 3
LEADER_NAMESPACE: Final = 4

LEADER_KEY: Final = 1
RELAY_KEY: Final = 2
