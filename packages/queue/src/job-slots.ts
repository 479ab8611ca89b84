import type { InFlight } from './internal-types.js';

/**
 * The consumer's in-flight jobs by entry id, and the waits on them: a reader
 * waiting for a free slot, close() waiting for the last job to finish.
 */
export class JobSlots {
  readonly jobs = new Map<string, InFlight>();
  private slotFreed: (() => void) | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly concurrency: number) {}

  get size(): number {
    return this.jobs.size;
  }

  free(): number {
    return this.concurrency - this.jobs.size;
  }

  add(id: string): InFlight {
    const inFlight: InFlight = { id, span: undefined, lost: false };
    this.jobs.set(id, inFlight);
    return inFlight;
  }

  release(id: string): void {
    this.jobs.delete(id);
    this.wakeReader();
    if (this.jobs.size === 0 && this.drained) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }

  /** Waits for a free slot, then one more turn so jobs finishing together free their slots for one bigger read. */
  async waitForSlot(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.slotFreed = resolve;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Ends a reader's wait for a slot (a slot was freed, or the consumer is closing). */
  wakeReader(): void {
    const freed = this.slotFreed;
    if (freed) {
      this.slotFreed = undefined;
      freed();
    }
  }

  /** Resolves once no job is in flight. */
  drain(): Promise<void> {
    if (this.jobs.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.drained = resolve;
    });
  }
}
