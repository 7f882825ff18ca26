import { describe, expect, it } from 'vitest';
import { Pruner, type PruneTask } from '../../src/platform/pruner.js';
import { createLogger } from '../../src/platform/logger.js';
import { ManualClock } from '../helpers/clock.js';

/** A task over `rows` old rows that records each batch it was asked for. */
function fakeTask(name: string, rows: number, onBatch?: () => Promise<void>): PruneTask & { calls: number[] } {
  let left = rows;
  const calls: number[] = [];
  return {
    name,
    calls,
    async prune(_now, limit) {
      calls.push(limit);
      await onBatch?.();
      const removed = Math.min(left, limit);
      left -= removed;
      return removed;
    },
  };
}

const logger = createLogger('silent');

describe('Pruner', () => {
  it('runs each task in bounded batches until a batch comes back short, in registration order', async () => {
    const pruned: Array<[string, number]> = [];
    const pruner = new Pruner({ clock: new ManualClock(), logger, batchSize: 100, interval: 0, onPruned: (task, rows) => pruned.push([task, rows]) });
    const first = fakeTask('first', 250);
    const second = fakeTask('second', 0);
    const third = fakeTask('third', 200);
    for (const task of [first, second, third]) pruner.register(task);
    expect(await pruner.runOnce()).toEqual({ first: 250, second: 0, third: 200 });
    expect(first.calls).toEqual([100, 100, 100]);
    expect(second.calls).toEqual([100]);
    expect(third.calls).toEqual([100, 100, 100]); // the third batch finds nothing and ends the task
    expect(pruned).toEqual([['first', 100], ['first', 100], ['first', 50], ['third', 100], ['third', 100]]);
  });

  it('joins a run in progress instead of starting a second one', async () => {
    const pruner = new Pruner({ clock: new ManualClock(), logger, batchSize: 10, interval: 0 });
    const task = fakeTask('only', 30);
    pruner.register(task);
    const [a, b] = await Promise.all([pruner.runOnce(), pruner.runOnce()]);
    expect(a).toEqual({ only: 30 });
    expect(b).toBe(a);
    expect(task.calls).toHaveLength(4);
  });

  it('stop() lets the batch in progress finish and starts no further one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let batches = 0;
    const pruner = new Pruner({ clock: new ManualClock(), logger, batchSize: 10, interval: 0 });
    pruner.register(fakeTask('slow', 1_000, async () => {
      batches++;
      if (batches === 2) await gate;
    }));
    const run = pruner.runOnce();
    await new Promise((r) => setTimeout(r, 10)); // the second batch is now waiting on the gate
    let stopped = false;
    const stopping = pruner.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(stopped).toBe(false); // waits for the batch in progress
    release();
    await stopping;
    expect(await run).toEqual({ slow: 20 });
    expect(batches).toBe(2);
  });

  it('refuses a task name registered twice (names are metric labels)', () => {
    const pruner = new Pruner({ clock: new ManualClock(), logger, batchSize: 10, interval: 0 });
    pruner.register(fakeTask('twice', 0));
    expect(() => pruner.register(fakeTask('twice', 0))).toThrow(/twice/);
  });
});
