-- A saved message moves its thread's `updated_at` forward, inside the statement that saves it:
-- saving an exchange is then one statement, not a transaction of two.
CREATE TRIGGER messages_touch_thread AFTER INSERT ON messages
BEGIN
    UPDATE threads SET updated_at = NEW.created_at WHERE id = NEW.thread_id AND updated_at < NEW.created_at;
END;
