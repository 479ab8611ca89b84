import { afterAll, describe, expect, it } from 'vitest';
import { createProducer } from '../src/index.js';
import { BACKENDS, closeClients, deleteQueue, keysOf, recordingLogger, testNames } from './support.js';

afterAll(closeClients);

/**
 * `replicas`: a send waits (WAIT, bounded) until a replica has its entry. The test
 * cluster has a replica per master; the single test redis-server has none.
 */
describe('sends that wait for a replica', () => {
  it('on the cluster, every send is confirmed by a replica: nothing is logged', async () => {
    const redis = BACKENDS[1]!.client();
    const names = testNames('wait', 3);
    const logger = recordingLogger();
    // A generous bound: on a loaded machine a replica may take longer than the 100 ms default.
    const producer = createProducer({ redis, names, replicas: 1, replicaTimeoutMs: 5_000, logger });
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) => producer.send({ jobId: `j${i}`, partitionKey: `k${i}` })),
    );
    expect(ids).toHaveLength(30);
    expect(logger.lines.filter((l) => l.level !== 'debug')).toEqual([]);
    await producer.close();
    await deleteQueue(redis, names);
  });

  it('without a replica, sends still resolve; the shortfall is logged once and later sends skip the wait', async () => {
    const redis = BACKENDS[0]!.client();
    const names = testNames('nowait');
    const logger = recordingLogger();
    const producer = createProducer({ redis, names, replicas: 1, replicaTimeoutMs: 50, logger });
    // How many WAITs this server ran (INFO commandstats), to see which sends waited.
    const waits = async () =>
      Number(/cmdstat_wait:calls=(\d+)/.exec(String(await redis.info('commandstats')))?.[1] ?? 0);
    const before = await waits();
    await producer.send({ jobId: 'a' });
    expect(await waits()).toBe(before + 1);
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => l.msg)).toEqual([
      'replication of sends (WAIT 1) fell short; the jobs are queued but not yet on a replica',
    ]);
    expect(String(warnings[0]?.obj.err)).toContain(`0 of 1 replica(s) of ${keysOf(names).stream}`);
    // Within the pause, the next send does not wait for a replica that is not there.
    await producer.send({ jobId: 'b' });
    expect(await waits()).toBe(before + 1);
    expect(await redis.xlen(keysOf(names).stream)).toBe(2);
    await producer.close();
    await deleteQueue(redis, names);
  });
});
