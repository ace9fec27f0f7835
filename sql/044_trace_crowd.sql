-- Contact tracing: the crowd rule (docs/tracing.md "What counts as a contact").
-- Where others passed the venue's door more than this many times during a
-- visit (人次), co-presence there is a general contact (时空伴随) whatever its
-- length; 0: no limit.
INSERT INTO trace_rules (key, value) VALUES ('close_crowd_max', 200);
