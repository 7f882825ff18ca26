import { RateLimiterMemory } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';
import { KeyRateLimit } from '../../src/api-keys/key-rate-limit.js';
import { createLogger } from '../../src/platform/logger.js';
import { ManualClock } from '../helpers/clock.js';

/*
 * The per-key budget counted locally and shared through a store (Redis in
 * production; here one in-memory store stands for it, shared by two
 * "instances").
 */
const budget = { points: 5, duration: 60 };
const logger = createLogger('silent');

describe('the per-key rate limit', () => {
  it('refuses past the budget with the seconds to wait, without waiting for the store', () => {
    const limit = new KeyRateLimit(new RateLimiterMemory({ points: 5, duration: 60 }), budget, new ManualClock(0), logger);
    expect(Array.from({ length: 5 }, () => limit.charge('k'))).toEqual([null, null, null, null, null]);
    expect(limit.charge('k')).toBe(60);
    expect(limit.charge('other')).toBeNull(); // each key has its own budget
  });

  it('shares the budget between instances through the store: what one counted, the others refuse after the next flush', async () => {
    const store = new RateLimiterMemory({ points: 5, duration: 60 });
    const clock = new ManualClock(0);
    const a = new KeyRateLimit(store, budget, clock, logger);
    const b = new KeyRateLimit(store, budget, clock, logger);
    for (let i = 0; i < 4; i++) expect(a.charge('k')).toBeNull();
    await a.flush();
    expect(b.charge('k')).toBeNull(); // b has not heard of a's four yet: one request past the budget at most, per flush interval
    await b.flush(); // the store now counts 5: b heard it
    expect(b.charge('k')).toBeGreaterThan(0);
    expect(a.charge('k')).toBeNull(); // a heard 4 at its flush: it learns the rest at its next one
    await a.flush();
    expect(a.charge('k')).toBeGreaterThan(0);
    expect(b.charge('k')).toBeGreaterThan(0);
    await a.stop();
    await b.stop();
  });

  it('starts a new window once the old one is over', async () => {
    const clock = new ManualClock(0);
    const limit = new KeyRateLimit(new RateLimiterMemory({ points: 5, duration: 60 }), budget, clock, logger);
    for (let i = 0; i < 5; i++) limit.charge('k');
    expect(limit.charge('k')).toBe(60);
    clock.advance(30);
    expect(limit.charge('k')).toBe(30);
    await limit.flush();
    clock.advance(61);
    await limit.flush(); // the idle key's count is dropped
    expect(limit.charge('k')).toBeNull();
    await limit.stop();
  });
});
