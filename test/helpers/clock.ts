import type { Clock } from '../../src/platform/clock.js';

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private ms = Date.now()) {}
  now(): number {
    return this.ms;
  }
  /** Moves time forward by `seconds`. */
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}
