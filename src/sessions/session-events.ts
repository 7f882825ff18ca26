import { EventEmitter } from 'node:events';
import { PubSub } from 'graphql-subscriptions';
import type { Db } from '../db/database.js';
import type { Logger } from '../platform/logger.js';
import type { AuthEventBus } from './event-bus.js';
import type { Session } from './session.js';
import { findSessionsByIds } from './session.repository.js';

/** One change to a user's sessions, as `Subscription.sessionEvents` delivers it. */
export interface SessionEvent {
  readonly kind: 'CREATED' | 'ENDED';
  readonly session: Session;
}

/**
 * The feed behind `Subscription.sessionEvents`: the auth event bus (every
 * instance's writes) turned into per-user streams. Ended sessions are read
 * back from the database, and only for users someone here is listening to,
 * so an instance without subscribers does no work for the events it hears.
 */
export class SessionEventFeed {
  private readonly emitter = new EventEmitter();
  private readonly pubsub: PubSub<Record<string, SessionEvent>>;
  private readonly unsubscribe: () => void;

  constructor(
    bus: AuthEventBus,
    private readonly deps: { readonly db: Db; readonly logger: Logger },
  ) {
    // One listener per subscription; the per-user connection limit bounds them, not EventEmitter's warning.
    this.emitter.setMaxListeners(0);
    this.pubsub = new PubSub({ eventEmitter: this.emitter });
    this.unsubscribe = bus.subscribe((event) => {
      if (!this.hasListeners(event.userId)) return;
      if (event.type === 'session_started') this.emit(event.userId, { kind: 'CREATED', session: event.session });
      if (event.type === 'sessions_ended') void this.announceEnded(event.userId, event.sessionIds);
    });
  }

  /** The stream of one user's session events, from now on; it ends when the consumer returns it. */
  subscribe(userId: string): AsyncIterableIterator<SessionEvent> {
    return this.pubsub.asyncIterableIterator<SessionEvent>(topic(userId));
  }

  /** Stops listening to the bus. */
  close(): void {
    this.unsubscribe();
  }

  private hasListeners(userId: string): boolean {
    return this.emitter.listenerCount(topic(userId)) > 0;
  }

  private emit(userId: string, event: SessionEvent): void {
    void this.pubsub.publish(topic(userId), event);
  }

  private async announceEnded(userId: string, sessionIds: readonly string[]): Promise<void> {
    try {
      const ended = await findSessionsByIds(this.deps.db, sessionIds);
      for (const session of ended) if (session.userId === userId) this.emit(userId, { kind: 'ENDED', session });
    } catch (error) {
      this.deps.logger.error({ err: error, userId }, 'could not read ended sessions for their ENDED events');
    }
  }
}

function topic(userId: string): string {
  return `user:${userId}`;
}
