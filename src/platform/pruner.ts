import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/**
 * One kind of row the pruner removes. `prune` deletes at most `limit` rows
 * that are old at `now`, in one short statement or transaction, and returns
 * how many it deleted. Features register their own (sessions, one-time
 * tokens, sent mail, MFA tokens).
 */
export interface PruneTask {
  /** A short stable name, used in logs and as the `task` label of `tokengate_pruned_rows_total`. */
  readonly name: string;
  prune(now: number, limit: number): Promise<number>;
}

/** Dependencies of Pruner. */
export interface PrunerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Rows per batch (PRUNE_BATCH_SIZE). */
  readonly batchSize: number;
  /** Seconds between runs (PRUNE_INTERVAL); 0: start() does nothing. */
  readonly interval: number;
  /** Told how many rows each batch removed (metrics). */
  readonly onPruned?: (task: string, rows: number) => void;
}

/**
 * Removes old rows in the background: every `interval`, each task in turn,
 * batch after batch until a batch comes back short. Between batches it
 * rests as long as the batch took, so requests are served in the gaps (with
 * embedded SQLite a statement runs on the event loop itself) and pruning
 * uses at most half of the time. stop() lets the batch in progress finish
 * and runs no further one.
 */
export class Pruner {
  private readonly tasks: PruneTask[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Record<string, number>> | null = null;
  private stopping = false;

  constructor(private readonly deps: PrunerDeps) {}

  /** Adds a task; tasks run in the order they were registered. */
  register(task: PruneTask): void {
    if (this.tasks.some((t) => t.name === task.name)) throw new Error(`prune task ${task.name} is registered twice`);
    this.tasks.push(task);
  }

  /** The registered task names, in order. */
  get taskNames(): string[] {
    return this.tasks.map((t) => t.name);
  }

  /** Runs every task to the end once (or joins the run in progress); resolves to the rows removed per task. */
  runOnce(): Promise<Record<string, number>> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Runs every `interval` seconds from now on, the first run one interval after start. */
  start(): void {
    if (this.deps.interval === 0 || this.timer !== null) return;
    this.stopping = false;
    this.timer = setInterval(() => {
      this.runOnce().catch((error: unknown) => this.deps.logger.error({ err: error }, 'pruning failed; it is retried at the next interval'));
    }, this.deps.interval * 1000);
    this.timer.unref();
  }

  /** Stops the schedule and waits for the batch in progress (no further batch starts). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  private async run(): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    for (const task of this.tasks) {
      removed[task.name] = 0;
      let batches = 0;
      let maxBatchMs = 0;
      const started = performance.now();
      while (!this.stopping) {
        const batchStarted = performance.now();
        // The clock is read per batch, so a long run never deletes on a stale "now".
        const rows = await task.prune(this.deps.clock.now(), this.deps.batchSize);
        maxBatchMs = Math.max(maxBatchMs, performance.now() - batchStarted);
        batches++;
        removed[task.name]! += rows;
        if (rows > 0) this.deps.onPruned?.(task.name, rows);
        if (rows < this.deps.batchSize) break;
        // Rest as long as the batch took: pruning never takes more than half
        // of the event loop (SQLite runs on it) or of the database's time.
        await sleep(Math.min(performance.now() - batchStarted, 1_000));
      }
      if (removed[task.name]! > 0) {
        const ms = Math.round(performance.now() - started);
        this.deps.logger.info({ task: task.name, rows: removed[task.name], batches, ms, maxBatchMs: Math.round(maxBatchMs * 10) / 10 }, 'pruned old rows');
      }
    }
    return removed;
  }
}
