import { type Delivery, type InFlight, inFlightKey } from './internal-types.js';

/**
 * The consumer's in-flight jobs and the waits on them: readers waiting for a
 * free slot, close() waiting for the last job.
 *
 * With several shards each shard has its own blocking read, and all of them
 * must be outstanding at once or a job on an idle-looking shard would wait a
 * whole `blockMs`. So reads may ask for up to `shards − 1` entries more than the
 * free slots; such extras wait here (`held`, already pending for this consumer
 * and kept alive by the heartbeat) and start as slots free up, before any new
 * read. With one shard nothing is ever held.
 */
export class JobSlots {
  readonly jobs = new Map<string, InFlight>();
  /** Delivered but not started: no slot was free when they arrived. */
  readonly held: Delivery[] = [];
  /** Entries asked for by reads still in progress. */
  private reading = 0;
  private readonly waiters = new Set<() => void>();
  private drained: (() => void) | undefined;

  constructor(
    private readonly concurrency: number,
    private readonly shards: number,
    /** Starts a held delivery once a slot is free. */
    private readonly start: (delivery: Delivery) => void,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  /** Slots free for claims: nothing held, nothing read past the limit. */
  free(): number {
    return this.concurrency - this.jobs.size - this.held.length;
  }

  /**
   * How many entries a read may ask for now (0: wait for a slot): every free slot not
   * promised to another read, and at least 1 while the total stays within
   * `concurrency + shards − 1`. The caller reports back with {@link readDone}.
   */
  reserveRead(batchSize: number): number {
    const busy = this.jobs.size + this.held.length + this.reading;
    if (busy >= this.concurrency + this.shards - 1) return 0;
    const count = Math.min(batchSize, Math.max(1, this.concurrency - busy));
    this.reading += count;
    return count;
  }

  /** A read asked for `reserved` entries and got `received`: what it did not use is free again. */
  readDone(reserved: number, received: number): void {
    this.reading -= reserved;
    // Another shard's reader may be waiting on this reservation, not on a job.
    if (received < reserved) this.wakeReaders();
  }

  /** Runs the delivery now when a slot is free, else holds it. */
  deliver(delivery: Delivery): void {
    if (this.jobs.size < this.concurrency) this.start(delivery);
    else this.held.push(delivery);
  }

  add(shard: number, id: string): InFlight {
    const key = inFlightKey(shard, id);
    const inFlight: InFlight = { key, shard, id, span: undefined, lost: false };
    this.jobs.set(key, inFlight);
    return inFlight;
  }

  has(shard: number, id: string): boolean {
    const key = inFlightKey(shard, id);
    return this.jobs.has(key) || this.held.some((d) => inFlightKey(d.shard, d.id) === key);
  }

  /** Forgets a held delivery another consumer took over (reported by the heartbeat). */
  dropHeld(shard: number, id: string): boolean {
    const i = this.held.findIndex((d) => d.shard === shard && d.id === id);
    if (i < 0) return false;
    this.held.splice(i, 1);
    this.wakeReaders();
    return true;
  }

  release(key: string): void {
    this.jobs.delete(key);
    const next = this.held.shift();
    if (next) this.start(next);
    else this.wakeReaders();
    if (this.jobs.size === 0 && this.held.length === 0 && this.drained) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }

  /** Waits for a free slot, then one more turn so jobs finishing together free their slots for one bigger read. */
  async waitForSlot(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.waiters.add(resolve);
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Ends every reader's wait for a slot (a slot was freed, or the consumer is closing). */
  wakeReaders(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves once no job is in flight or held. */
  drain(): Promise<void> {
    if (this.jobs.size === 0 && this.held.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.drained = resolve;
    });
  }
}
