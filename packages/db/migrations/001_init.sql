-- 001: pets, photos, jobs and clustering results.
-- Table names are unqualified on purpose: the runner applies them to the first
-- schema of search_path (tests give every test its own schema).

-- Owners come from API_KEYS (config), not from a table: a pet row records the
-- owner that first uploaded for it, and that owner alone may see it.
CREATE TABLE pets (
  pet_id     text PRIMARY KEY,
  owner      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE photos (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pet_id       text NOT NULL REFERENCES pets (pet_id) ON DELETE CASCADE,
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  width        integer NOT NULL CHECK (width > 0),
  height       integer NOT NULL CHECK (height > 0),
  bytes        integer NOT NULL CHECK (bytes > 0),
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- Dedupe per pet: the same bytes uploaded again for the same pet are the same photo.
  -- Also serves "all photos of a pet" (leading column) and "these sha256s of a pet".
  CONSTRAINT photos_pet_sha256_key UNIQUE (pet_id, sha256)
);

CREATE TABLE jobs (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pet_id          text NOT NULL REFERENCES pets (pet_id) ON DELETE CASCADE,
  owner           text NOT NULL,
  status          text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead_lettered')),
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  idempotency_key text,
  -- sha256 of the canonical request (pet + body): same key with another body is a conflict.
  request_hash    text,
  callback_url    text,
  -- Resolved at creation (all photos of the pet when the request named none), so a
  -- retry of the job clusters exactly the same set even if more photos arrive.
  photo_ids       uuid[] NOT NULL CHECK (cardinality(photo_ids) > 0),
  error           text,
  trace_id        text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((idempotency_key IS NULL) = (request_hash IS NULL)),
  -- NULL keys never collide, so jobs without Idempotency-Key are unconstrained.
  CONSTRAINT jobs_owner_idempotency_key_key UNIQUE (owner, idempotency_key)
);

-- GET /v1/pets/{petId}/clusters: the latest succeeded job of a pet
-- (WHERE pet_id = $1 AND status = 'succeeded' ORDER BY finished_at DESC LIMIT 1);
-- also covers the pets -> jobs cascade.
CREATE INDEX jobs_pet_status_finished_idx ON jobs (pet_id, status, finished_at DESC);

CREATE TABLE clusters (
  job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  cluster_index integer NOT NULL CHECK (cluster_index >= 0),
  hero_photo_id uuid NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
  PRIMARY KEY (job_id, cluster_index)
);

CREATE TABLE cluster_members (
  job_id        uuid NOT NULL,
  cluster_index integer NOT NULL,
  photo_id      uuid NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
  -- Order of the member in the worker's list (the hero need not be first).
  position      integer NOT NULL CHECK (position >= 0),
  PRIMARY KEY (job_id, cluster_index, photo_id),
  -- A photo is in at most one cluster of a job.
  CONSTRAINT cluster_members_job_photo_key UNIQUE (job_id, photo_id),
  FOREIGN KEY (job_id, cluster_index) REFERENCES clusters (job_id, cluster_index) ON DELETE CASCADE
);

-- ON DELETE CASCADE from photos needs an index on the referencing columns.
CREATE INDEX clusters_hero_photo_idx ON clusters (hero_photo_id);
CREATE INDEX cluster_members_photo_idx ON cluster_members (photo_id);
