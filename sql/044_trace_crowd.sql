-- Contact tracing: the crowd rule (docs/tracing.md "What counts as a contact").
-- Where more than this many other people overlapped a visit, co-presence at
-- the venue is a general contact (时空伴随) whatever its length; 0: no limit.
INSERT INTO trace_rules (key, value) VALUES ('close_crowd_max', 100);
