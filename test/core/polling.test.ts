import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLLING, nextPollSeconds, simulatePolling } from '../../functions/core/polling.ts';

describe('restore polling', () => {
  it('looks every 15 s at first and backs off to at most 60 s', () => {
    expect(nextPollSeconds(0)).toBe(15);
    expect(nextPollSeconds(120)).toBe(15);
    expect(nextPollSeconds(240)).toBe(30);
    expect(nextPollSeconds(30 * 60)).toBe(60);
  });

  it('never waits less than the minimum or more than the ceiling, whatever the elapsed time', () => {
    fc.assert(
      fc.property(fc.double({ min: -10, max: 1e7, noNaN: true }), (elapsed) => {
        const pause = nextPollSeconds(elapsed);
        return pause >= DEFAULT_POLLING.minSeconds && pause <= DEFAULT_POLLING.maxSeconds;
      }),
    );
  });

  it('notices a 30-minute restore within a minute using a bounded number of transitions', () => {
    const result = simulatePolling(30 * 60);
    expect(result.detectionLatencySeconds).toBeLessThan(60);
    expect(result.transitions).toBeLessThan(150);
  });

  it('notices any restore no later than the ceiling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 * 3600 }), (seconds) => {
        return simulatePolling(seconds).detectionLatencySeconds < DEFAULT_POLLING.maxSeconds;
      }),
    );
  });
});
