// Keeps what `npm start` runs alive: a child that exits when nobody asked it to
// is started again after a backoff, while the others go on serving. Plain Node.

/** Restart backoff: 1 s, doubled per crash up to 30 s; back to 1 s once a child stayed up a minute. */
export const BACKOFF = {
  initialMs: 1_000, // 1 s
  maxMs: 30_000, // 30 s
  resetAfterMs: 60_000, // 1 min of uptime forgives earlier crashes
};

/** The wait before the next start, given the last wait and how long the child ran. */
export function nextDelay(previousMs, uptimeMs, backoff = BACKOFF) {
  if (previousMs === undefined || uptimeMs >= backoff.resetAfterMs) return backoff.initialMs;
  return Math.min(previousMs * 2, backoff.maxMs);
}

export function describeExit({ code, signal }) {
  return signal ? `signal ${signal}` : `code ${code}`;
}

export function formatDuration(ms) {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * @typedef {{ code: number | null, signal: string | null }} Exit
 * @typedef {{ pid: number | undefined, exited: Promise<Exit> }} Running
 * @typedef {object} Unit
 * @property {string} name             shown in every line, e.g. "worker"
 * @property {number} layer            stopped after every unit of a higher layer (services 1, servers 0)
 * @property {() => Promise<Running>} start  starts it (or starts it again); rejects when it cannot
 * @property {(running: Running) => Promise<unknown>} stop  stops it on purpose
 * @property {() => Promise<boolean>} [ready]  polled after each start until true; none: ready once started
 */

/**
 * Runs units and restarts the ones that exit unexpectedly. `add(unit)`
 * resolves once the unit is ready the first time and rejects when its first
 * start fails or it exits before being ready (a configuration problem, not a
 * crash: nothing to retry). Later exits are crashes: one line, a backoff, a
 * new start. `stop()` stops every unit, highest layer first.
 *
 * @param {{ say: (line: string) => void, backoff?: typeof BACKOFF, readyPollMs?: number }} options
 */
export function createSupervisor({ say, backoff = BACKOFF, readyPollMs = 200 }) {
  /** @type {{ unit: Unit, running: Running | undefined, starting: Promise<Running> | undefined }[]} */
  const entries = [];
  let stopping = false;
  /** @type {Promise<void> | undefined} */
  let stopAll;
  /** Resolved by stop(): ends every pending backoff wait at once. */
  let wake;
  const stopped = new Promise((resolve) => {
    wake = resolve;
  });

  const sleep = (ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      stopped.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  /** True once `running` answers ready; false if it exits (or we stop) first. */
  async function whenReady(unit, running) {
    if (!unit.ready) return true;
    let exited = false;
    running.exited.then(() => {
      exited = true;
    });
    while (!exited && !stopping) {
      if (await unit.ready().catch(() => false)) return !exited;
      await sleep(readyPollMs);
    }
    return false;
  }

  async function keepRunning(entry, first) {
    const { unit } = entry;
    let delay;
    for (;;) {
      const startedAt = Date.now();
      if (stopping) return;
      try {
        entry.starting = unit.start();
        entry.running = await entry.starting;
      } catch (error) {
        if (first.pending) return first.reject(error);
        if (stopping) return;
        delay = nextDelay(delay, 0, backoff);
        say(
          `${unit.name} could not start (${error.message.split('\n')[0]}); retrying in ${formatDuration(delay)}`,
        );
        await sleep(delay);
        continue;
      }
      const running = entry.running;
      if (first.pending) {
        if (await whenReady(unit, running)) first.resolve();
        else if (!stopping) {
          const exit = await running.exited;
          return first.reject(new Error(`${unit.name} exited during start-up (${describeExit(exit)})`));
        }
      } else {
        void whenReady(unit, running).then((ok) => {
          if (ok)
            say(
              `${unit.name} is back (pid ${running.pid}), ready after ${formatDuration(Date.now() - startedAt)}`,
            );
        });
      }
      const exit = await running.exited;
      if (stopping) return;
      const uptime = Date.now() - startedAt;
      delay = nextDelay(delay, uptime, backoff);
      say(
        `${unit.name} (pid ${running.pid}) exited unexpectedly (${describeExit(exit)}) after ${formatDuration(uptime)}; ` +
          `restarting in ${formatDuration(delay)}`,
      );
      await sleep(delay);
    }
  }

  return {
    /** @param {Unit} unit */
    add(unit) {
      const entry = { unit, running: undefined, starting: undefined };
      entries.push(entry);
      return new Promise((resolve, reject) => {
        const first = {
          pending: true,
          resolve: () => {
            first.pending = false;
            resolve();
          },
          reject: (error) => {
            first.pending = false;
            reject(error);
          },
        };
        keepRunning(entry, first).catch(first.reject);
      });
    },

    /** Pids of what runs now, by unit name. */
    pids() {
      return Object.fromEntries(entries.map((e) => [e.unit.name, e.running?.pid]));
    },

    /** Stops every unit, highest layer first, the units of one layer together. Safe to call twice. */
    stop() {
      stopping = true;
      wake();
      stopAll ??= (async () => {
        const layers = [...new Set(entries.map((e) => e.unit.layer))].sort((a, b) => b - a);
        for (const layer of layers) {
          const inLayer = entries.filter((e) => e.unit.layer === layer);
          await Promise.all(
            inLayer.map(async ({ unit, starting }) => {
              // A start under way finishes first, so what it started is stopped too.
              const running = await starting?.catch(() => undefined);
              if (running)
                await unit
                  .stop(running)
                  .catch((error) => say(`${unit.name} did not stop cleanly: ${error.message}`));
            }),
          );
        }
      })();
      return stopAll;
    },
  };
}
