/**
 * @deprecated The subscriptions section lives in sections/subscriptions.section.ts
 * (its type is also exported by config.ts). This file only keeps the import of
 * src/http/websocket.ts working until that file is next edited; then delete it.
 */
export type { SubscriptionsConfig } from './sections/subscriptions.section.js';
