import { AsyncLocalStorage } from 'node:async_hooks';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/**
 * A Kysely plugin that lets a service test stop one actor right after one of
 * its queries, run something else, and let it go on: races driven step by
 * step instead of hoped for with parallel requests.
 *
 *   const gate = new QueryGate();            // db.withPlugin(gate)
 *   const paused = gate.pauseAfter('A', 'update:sessions');
 *   const a = gate.as('A', () => service.refresh(token, meta));
 *   await paused.reached;                    // A's UPDATE has run; A waits
 *   …                                        // B does its part
 *   paused.release();
 *
 * Queries are labelled `kind:table` (`select:sessions`, `insert:refresh_tokens`);
 * an actor is whatever runs inside `as(name, fn)` (AsyncLocalStorage).
 * `failOn` makes a matching query throw instead: a fault between two writes.
 */
export class QueryGate implements KyselyPlugin {
  private readonly actor = new AsyncLocalStorage<string>();
  private readonly labels = new WeakMap<object, string>();
  private readonly pauses: Array<{ actor: string; label: string; remaining: number; reached: () => void; released: Promise<void> }> = [];
  private readonly faults: Array<{ label: string; error: Error }> = [];
  /** Every labelled query, in order, with its actor: what a test can assert on. */
  readonly log: Array<{ actor: string | undefined; label: string }> = [];

  /** Runs `fn` as actor `name`. */
  as<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.actor.run(name, fn);
  }

  /** Stops `actor` after the `nth` completed query labelled `label`, until released. */
  pauseAfter(actor: string, label: string, nth = 1): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.pauses.push({ actor, label, remaining: nth, reached, released });
    return { reached: reachedPromise, release };
  }

  /** Makes the next query labelled `label` (any actor) fail with `error`. */
  failOn(label: string, error = new Error(`injected fault on ${label}`)): void {
    this.faults.push({ label, error });
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const label = labelOf(args.node);
    this.labels.set(args.queryId, label);
    this.log.push({ actor: this.actor.getStore(), label });
    const fault = this.faults.findIndex((f) => f.label === label);
    if (fault !== -1) {
      throw this.faults.splice(fault, 1)[0]!.error;
    }
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const label = this.labels.get(args.queryId);
    const actor = this.actor.getStore();
    const index = this.pauses.findIndex((p) => p.actor === actor && p.label === label);
    if (index !== -1) {
      const pause = this.pauses[index]!;
      pause.remaining -= 1;
      if (pause.remaining === 0) {
        this.pauses.splice(index, 1);
        pause.reached();
        await pause.released;
      }
    }
    return args.result;
  }
}

function labelOf(node: RootOperationNode): string {
  switch (node.kind) {
    case 'SelectQueryNode': {
      const from = node.from?.froms[0];
      return `select:${from ? tableName(from) : '?'}`;
    }
    case 'InsertQueryNode':
      return `insert:${node.into ? node.into.table.identifier.name : '?'}`;
    case 'UpdateQueryNode':
      return `update:${node.table ? tableName(node.table) : '?'}`;
    case 'DeleteQueryNode':
      return `delete:${tableName(node.from.froms[0]!)}`;
    default:
      return node.kind;
  }
}

function tableName(node: unknown): string {
  const n = node as { kind: string; table?: { identifier: { name: string } }; node?: unknown };
  if (n.kind === 'TableNode' && n.table) return n.table.identifier.name;
  if (n.kind === 'AliasNode') return tableName(n.node);
  return '?';
}
