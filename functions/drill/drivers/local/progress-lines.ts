/**
 * The local drill's progress for a person: one line per Task state with its final outcome and how
 * long it took. A caught failure is reported by the engine as failed, then exited (to its Catch):
 * it prints once, as ✗.
 */
import type { LocalRunEvent } from '../../local-state-machine.ts';

/** Milliseconds from a state entered to the same state left, formatted. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * An `onEvent` for the local engine that prints the lines; `isTask` tells a Task from a Choice or
 * a Wait (only Tasks get a ✓), `onEntered` learns the state running now (for an interrupt).
 */
export function progressLines(
  progress: (line: string) => void,
  isTask: (state: string) => boolean,
  onEntered: (state: string) => void = () => undefined,
): (event: LocalRunEvent) => void {
  const entered = new Map<string, number>();
  const failed = new Set<string>();
  return (event) => {
    if (!event.state) return;
    if (event.type === 'StateEntered') {
      entered.set(event.state, event.timestamp);
      failed.delete(event.state);
      onEntered(event.state);
    } else if (event.type === 'StateExited' || event.type === 'StateFailed') {
      const since = entered.get(event.state);
      const took = since === undefined ? '' : ` (${seconds(event.timestamp - since)})`;
      if (event.type === 'StateFailed') {
        failed.add(event.state);
        progress(`✗ ${event.state}${took}: ${event.error}`);
      } else if (isTask(event.state) && !failed.has(event.state)) progress(`✓ ${event.state}${took}`);
    }
  };
}
