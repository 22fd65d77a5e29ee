-- The harness's own tables, in a schema of their own so that nothing mistakes them for NMIA's
-- (the real app has only schema public). Every comparison of the app's schema leaves nmia_drill out.
-- They ride along in the runbook's dumps, which is the point: the newest surviving sentinel measures RPO.
CREATE SCHEMA nmia_drill;
COMMENT ON SCHEMA nmia_drill IS 'nmia-drill harness data (RPO sentinels, reference-app heartbeats): not part of NMIA';

-- Written continuously during a drill, straight into the database; the newest surviving row measures RPO.
CREATE TABLE nmia_drill.sentinels (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  note       text
);

-- The built-in reference app's worker beats here; the real NMIA worker has no such table (its liveness is its log).
CREATE TABLE nmia_drill.worker_heartbeats (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  worker_id text NOT NULL,
  beat_at   timestamptz NOT NULL DEFAULT now(),
  hostname  text,
  pid       integer
);
CREATE INDEX worker_heartbeats_worker_beat_idx ON nmia_drill.worker_heartbeats (worker_id, beat_at DESC);
