/**
 * How long the drill waits between two looks at a restoring instance. RDS has no `.sync`
 * integration for restores, so the state machine polls. The trade-off: every look costs three
 * state transitions (Wait, Task, Choice) and a Lambda invocation; every second between looks is
 * detection latency added to the measured RTO. A restore usually takes 10 to 30 minutes, so the
 * drill looks often at first (a small or failed restore is seen quickly), then backs off to a
 * ceiling that bounds the latency.
 */

export interface PollingPolicy {
  /** First pauses, in seconds. */
  readonly minSeconds: number;
  /** Ceiling of a pause, in seconds: the worst-case detection latency once backed off. */
  readonly maxSeconds: number;
  /** A pause is this fraction of the time elapsed since the restore started. */
  readonly fraction: number;
}

export const DEFAULT_POLLING: PollingPolicy = { minSeconds: 15, maxSeconds: 60, fraction: 0.125 };

/** Seconds to wait before the next look, given the seconds elapsed since the restore started. */
export function nextPollSeconds(elapsedSeconds: number, policy: PollingPolicy = DEFAULT_POLLING): number {
  const proportional = Math.max(0, elapsedSeconds) * policy.fraction;
  return Math.round(Math.min(policy.maxSeconds, Math.max(policy.minSeconds, proportional)));
}

/**
 * Simulates polling a restore that becomes available after `restoreSeconds`: how many looks it
 * takes, how many state transitions that costs, and how late the availability is noticed.
 */
export function simulatePolling(
  restoreSeconds: number,
  policy: PollingPolicy = DEFAULT_POLLING,
): { polls: number; transitions: number; detectionLatencySeconds: number } {
  let elapsed = 0;
  let polls = 1; // the look right after the restore call
  while (elapsed < restoreSeconds) {
    elapsed += nextPollSeconds(elapsed, policy);
    polls += 1;
  }
  // Each look after the first is Wait + Task + Choice; the first is Task + Choice.
  return { polls, transitions: 2 + (polls - 1) * 3, detectionLatencySeconds: elapsed - restoreSeconds };
}
