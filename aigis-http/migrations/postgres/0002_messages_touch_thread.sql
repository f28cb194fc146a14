-- A saved message moves its thread's `updated_at` forward, inside the statement that saves it
-- (the same trigger as on SQLite).
CREATE FUNCTION messages_touch_thread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE threads SET updated_at = NEW.created_at WHERE id = NEW.thread_id AND updated_at < NEW.created_at;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_touch_thread AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_touch_thread();
