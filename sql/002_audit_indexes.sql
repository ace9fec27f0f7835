-- The audit log is the busiest table (an entry per read of personal data),
-- so every index costs on each append. Ids are time-ordered, so time ranges
-- are primary-key ranges and the index on `at` is dropped; ids are unique
-- across object types, so the object index needs only the id, and entries
-- about no single object (lists, sign-ins) stay out of it.
DROP INDEX audit_log_at;
DROP INDEX audit_log_user;
CREATE INDEX audit_log_user ON audit_log (user_id, id);
DROP INDEX audit_log_object;
CREATE INDEX audit_log_object ON audit_log (object_id) WHERE object_id <> 0;
