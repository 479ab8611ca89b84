-- 002: the callback's delivery state, so a job redelivered after its result
-- committed (the worker died before the webhook went out) still sends it.
-- webhook_status NULL: not settled yet (or the job has no callback_url);
-- 'delivered': a 2xx came back; 'failed': refused or given up after the
-- bounded retries (never retried again). webhook_attempts counts POSTs over
-- every delivery of the job's message that recorded its outcome.
ALTER TABLE jobs
  ADD COLUMN webhook_status      text CHECK (webhook_status IN ('delivered', 'failed')),
  ADD COLUMN webhook_attempts    integer NOT NULL DEFAULT 0 CHECK (webhook_attempts >= 0),
  ADD COLUMN webhook_error       text,
  ADD COLUMN webhook_finished_at timestamptz,
  ADD CONSTRAINT jobs_webhook_settled_check CHECK ((webhook_status IS NULL) = (webhook_finished_at IS NULL));
