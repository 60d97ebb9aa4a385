-- For the subscription run only (after schema.sql): every INSERT statement
-- notifies the channel "events" at commit; followers LISTEN, then SELECT
-- what is after the last position they saw. A statement-level trigger, so
-- a batch gives one notification (and NOTIFY folds identical payloads of
-- one transaction anyway). Not installed for the other runs: there the
-- appends pay nothing for subscribers (Cairn's always hand each commit to
-- its live log, subscribed or not).
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('events', '');
  RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
