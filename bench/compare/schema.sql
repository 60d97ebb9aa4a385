-- PostgreSQL as an event store, as bench/compare/run.sh sets it up before
-- every write run (a fresh table, like the fresh cairnd and redis-server
-- the other two get). The common shape: a global position from a
-- sequence, one row per event, the stream's version unique per stream so
-- that an append with a stale expected version fails (the client computes
-- the versions from the version it expects: 23505 unique_violation is the
-- conflict).
DROP TABLE IF EXISTS events;
CREATE TABLE events (
  position bigserial PRIMARY KEY,
  stream   text        NOT NULL,
  version  int         NOT NULL,
  type     text        NOT NULL,
  data     jsonb       NOT NULL,
  metadata jsonb,
  created  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream, version)
);
