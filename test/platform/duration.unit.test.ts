import { describe, it, expect } from 'vitest';
import { parseDuration } from '../../src/platform/duration.js';

describe('parseDuration', () => {
  it.each([
    ['3s', 3],
    ['0s', 0],
    ['15m', 900],
    ['12h', 43_200],
    ['1d', 86_400],
    ['30d', 2_592_000],
    [' 5s ', 5],
    ['\t10m\n', 600],
  ])('parses %j as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['15', '1.5h', '-1s', '+1s', '5w', '5 s', 's', '15m30s', '', '   ', 'abc', '1e3s'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});
