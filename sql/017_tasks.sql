-- Tasks (任务, issue 9; docs/tasks.md): work the command centre or a rule
-- gives to one user (assignee_user_id) or to every holder of a role in the
-- task's region (assignee_role, assignee_user_id 0 until one accepts).
-- kind names a struct task_kind registered by the capability that owns the
-- work; subject_id is that capability's record (an incident, an
-- observation), 0 none. state: pending | accepted | done | returned |
-- overdue | cancelled. priority 1 (urgent) .. 3 (normal). Times are epoch
-- ms, 0 for "not yet". address and phone are SM4-sealed like every
-- personal field; result is the completion's JSON object as text.
-- overdue_alerted: the task_overdue alert of the current deadline was
-- raised (a reassignment with a new deadline clears it). version counts
-- changes, so two concurrent transitions cannot both apply.
CREATE TABLE tasks (
    id               BIGINT PRIMARY KEY,
    kind             TEXT NOT NULL,
    region_code      BIGINT NOT NULL,
    assignee_user_id BIGINT NOT NULL DEFAULT 0,
    assignee_role    TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    deadline         BIGINT NOT NULL,
    title            TEXT NOT NULL,
    person_id        BIGINT NOT NULL DEFAULT 0,
    subject_id       BIGINT NOT NULL DEFAULT 0,
    address_enc      BYTEA,
    phone_enc        BYTEA,
    lat              DOUBLE PRECISION NOT NULL DEFAULT 0,
    lng              DOUBLE PRECISION NOT NULL DEFAULT 0,
    detail           TEXT NOT NULL DEFAULT '{}',
    note             TEXT NOT NULL DEFAULT '',
    result           TEXT NOT NULL DEFAULT '',
    created_by       BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    accepted_by      BIGINT NOT NULL DEFAULT 0,
    accepted_at      BIGINT NOT NULL DEFAULT 0,
    done_by          BIGINT NOT NULL DEFAULT 0,
    done_at          BIGINT NOT NULL DEFAULT 0,
    overdue_alerted  INTEGER NOT NULL DEFAULT 0,
    version          BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX tasks_region ON tasks (region_code, state, deadline);
CREATE INDEX tasks_assignee ON tasks (assignee_user_id, state);
CREATE INDEX tasks_subject ON tasks (kind, subject_id);
CREATE INDEX tasks_sweep ON tasks (state, deadline);

-- The timeline of a task: created, accepted, completed, returned,
-- reassigned, cancelled, overdue (user_id 0: the system), with the note
-- the actor gave (a reason, a completion's text).
CREATE TABLE task_events (
    id          BIGINT PRIMARY KEY,
    task_id     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    user_id     BIGINT NOT NULL DEFAULT 0,
    action      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX task_events_task ON task_events (task_id, at);
