-- 003: a job's result in one round trip. The worker's result write was seven
-- (BEGIN, lock, delete, two inserts, update, COMMIT), each a query span and a
-- duration record when traced; the same steps now run inside one call, which is
-- one statement and so one transaction. Replaces an earlier result of the job
-- (a redelivery), so a redelivered job never duplicates rows.
--
-- Arguments: the job, the hero of each cluster (cluster i = heroes[i]), and
-- the members as parallel arrays (cluster index, photo, position in cluster).
-- Raises SQLSTATE MC404 for an unknown job and MC422 when a member is not one
-- of the job's photos; the caller checks the rest (non-empty clusters, hero a
-- member, no photo twice) before calling.
CREATE FUNCTION save_job_result(
  p_job_id          uuid,
  p_heroes          uuid[],
  p_member_clusters integer[],
  p_member_photos   uuid[],
  p_member_positions integer[]
) RETURNS SETOF jobs
LANGUAGE plpgsql AS $$
DECLARE
  job_photos uuid[];
  stray uuid;
BEGIN
  -- The row lock serialises two deliveries of the same job finishing at once.
  SELECT j.photo_ids INTO job_photos FROM jobs j WHERE j.id = p_job_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Job % does not exist', p_job_id USING ERRCODE = 'MC404';
  END IF;
  SELECT m INTO stray FROM unnest(p_member_photos) AS m WHERE m <> ALL (job_photos) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'Photo % is not in the job', stray USING ERRCODE = 'MC422';
  END IF;

  DELETE FROM cluster_members m WHERE m.job_id = p_job_id;
  DELETE FROM clusters c WHERE c.job_id = p_job_id;
  INSERT INTO clusters (job_id, cluster_index, hero_photo_id)
    SELECT p_job_id, h.ordinality - 1, h.hero
      FROM unnest(p_heroes) WITH ORDINALITY AS h(hero, ordinality);
  INSERT INTO cluster_members (job_id, cluster_index, photo_id, position)
    SELECT p_job_id, m.cluster_index, m.photo_id, m.position
      FROM unnest(p_member_clusters, p_member_photos, p_member_positions) AS m(cluster_index, photo_id, position);
  RETURN QUERY
    UPDATE jobs j SET status = 'succeeded', error = NULL, finished_at = now(), updated_at = now()
     WHERE j.id = p_job_id
    RETURNING j.*;
END;
$$;
