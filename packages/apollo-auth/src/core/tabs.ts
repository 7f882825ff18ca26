/*
 * Coordination between the tabs of one browser (same origin): one refresh at
 * a time (Web Locks API, or an election over BroadcastChannel where Web Locks
 * are missing), and messages that share new tokens and sign-outs. The
 * server's refresh grace window is the safety net when this fails, not the
 * mechanism.
 */

/** A user as the kit knows it. */
export interface AuthUser {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
}

/** What tabs tell each other. */
export type TabMessage =
  | { readonly type: 'tokens'; readonly accessToken: string; readonly refreshToken: string | null; readonly user: AuthUser | null }
  | { readonly type: 'signedOut'; readonly reason: string }
  /** A tab that starts asks whether another one is signed in. */
  | { readonly type: 'hello'; readonly from: string }
  | { readonly type: 'state'; readonly to: string; readonly accessToken: string; readonly refreshToken: string | null; readonly user: AuthUser | null };

/** One refresh at a time per browser, and a message bus between tabs. */
export interface TabCoordinator {
  /** Runs `task` while no other tab of this browser runs one under the same coordinator name. */
  runExclusive<T>(task: () => Promise<T>): Promise<T>;
  publish(message: TabMessage): void;
  subscribe(listener: (message: TabMessage) => void): () => void;
  /** Whether another tab can hear us at all (BroadcastChannel exists). */
  readonly shared: boolean;
  close(): void;
}

/** Options of createTabCoordinator; the defaults are the browser's globals. */
export interface TabCoordinatorOptions {
  readonly name?: string;
  readonly locks?: LockManager | null;
  readonly createChannel?: ((name: string) => BroadcastChannel) | null;
  /**
   * How long a tab keeps the lock after announcing new tokens, so that tabs
   * waiting for the lock hear the tokens before they get it (messages and
   * lock grants travel separately). Default 50 ms.
   */
  readonly settleMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Builds the coordinator for this page: Web Locks + BroadcastChannel, whichever exist. */
export function createTabCoordinator(options: TabCoordinatorOptions = {}): TabCoordinator {
  const name = options.name ?? 'tokengate-auth';
  const settleMs = options.settleMs ?? 50;
  const locks = options.locks !== undefined ? options.locks : typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null;
  const createChannel =
    options.createChannel !== undefined ? options.createChannel : typeof BroadcastChannel === 'undefined' ? null : (n: string) => new BroadcastChannel(n);
  const channel = createChannel ? createChannel(name) : null;
  const listeners = new Set<(message: TabMessage) => void>();
  const election = channel ? new ChannelMutex(channel, settleMs) : null;

  channel?.addEventListener('message', (event: MessageEvent) => {
    const message = event.data as TabMessage | MutexMessage;
    if (isMutexMessage(message)) return election?.receive(message);
    for (const listener of listeners) listener(message);
  });

  // Within this tab, tasks queue too: a Web Lock is per tab-and-name, and the fallback election is per tab.
  let local: Promise<unknown> = Promise.resolve();
  const inThisTab = <T>(task: () => Promise<T>): Promise<T> => {
    const run = local.then(task, task);
    local = run.catch(() => undefined);
    return run;
  };

  return {
    shared: channel !== null,
    runExclusive(task) {
      const settled = async () => {
        try {
          return await task();
        } finally {
          // Let other tabs hear what the task announced before the next holder starts.
          if (channel) await sleep(settleMs);
        }
      };
      if (locks) return inThisTab(() => locks.request(`${name}:refresh`, { mode: 'exclusive' }, settled) as Promise<Awaited<ReturnType<typeof task>>>);
      if (election) return inThisTab(() => election.run(settled));
      return inThisTab(task);
    },
    publish(message) {
      channel?.postMessage(message);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      channel?.close();
    },
  };
}

type MutexMessage =
  | { readonly type: 'mutex:want'; readonly id: string; readonly at: number }
  | { readonly type: 'mutex:held'; readonly id: string }
  | { readonly type: 'mutex:free'; readonly id: string };

function isMutexMessage(message: TabMessage | MutexMessage): message is MutexMessage {
  return message.type.startsWith('mutex:');
}

/**
 * A cross-tab mutex over BroadcastChannel, for browsers without Web Locks: a
 * tab that wants the lock says so and listens for a short while; if another
 * tab holds it, or asked earlier (ties broken by id), it waits for "free" and
 * asks again. A holder that vanishes (tab closed) is given up on after a timeout.
 */
class ChannelMutex {
  private readonly id = Math.random().toString(36).slice(2) + Date.now().toString(36);
  private heldBy: string | null = null;
  private wants = new Map<string, number>();
  private waiters: Array<() => void> = [];
  private holding = false;

  constructor(
    private readonly channel: BroadcastChannel,
    private readonly listenMs: number,
    private readonly staleMs = 10_000,
  ) {}

  receive(message: MutexMessage): void {
    if (message.type === 'mutex:want') {
      this.wants.set(message.id, message.at);
      if (this.holding) this.channel.postMessage({ type: 'mutex:held', id: this.id } satisfies MutexMessage);
    } else if (message.type === 'mutex:held') {
      this.heldBy = message.id;
    } else {
      if (this.heldBy === message.id) this.heldBy = null;
      this.wants.delete(message.id);
      this.wake();
    }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    for (;;) {
      const at = Date.now();
      this.wants.clear();
      this.channel.postMessage({ type: 'mutex:want', id: this.id, at } satisfies MutexMessage);
      await sleep(this.listenMs);
      const earlier = [...this.wants].some(([id, when]) => when < at || (when === at && id < this.id));
      if (this.heldBy === null && !earlier) break;
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), sleep(this.staleMs)]);
      this.heldBy = null;
    }
    this.holding = true;
    this.channel.postMessage({ type: 'mutex:held', id: this.id } satisfies MutexMessage);
    try {
      return await task();
    } finally {
      this.holding = false;
      this.channel.postMessage({ type: 'mutex:free', id: this.id } satisfies MutexMessage);
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
