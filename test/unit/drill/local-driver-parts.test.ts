/**
 * Two parts of the local driver on their own: the progress lines, over the events of a real run of
 * the local state-machine engine (a Task that fails into its Catch prints once, as ✗; a Choice
 * prints nothing), and the state a signal leaves (the cut-short step, or the preparation, fails as
 * interrupted; nothing else is changed).
 */
import { describe, expect, it } from 'vitest';
import { PREPARE_STEP } from '../../../functions/core/escalations.ts';
import { interruptedState } from '../../../functions/drill/drivers/local/interruption.ts';
import { progressLines } from '../../../functions/drill/drivers/local/progress-lines.ts';
import { runDefinitionLocally } from '../../../functions/drill/local-state-machine.ts';
import { INTERRUPTED_ERROR } from '../../../functions/drill/ports/errors.ts';
import type { DrillState } from '../../../functions/drill/steps/index.ts';

const TASK = (next: Record<string, unknown>) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  ...next,
});

const DEFINITION = {
  StartAt: 'Breaks',
  States: {
    Breaks: TASK({
      Next: 'Pick',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Pick' }],
    }),
    Pick: {
      Type: 'Choice',
      Choices: [{ Variable: '$.failure', IsPresent: true, Next: 'Works' }],
      Default: 'Works',
    },
    Works: TASK({ End: true }),
  },
};

describe('progressLines', () => {
  it('prints one line per Task with its final outcome, a caught failure once as ✗, a Choice not at all', async () => {
    const lines: string[] = [];
    const entered: string[] = [];
    const handlers = {
      Breaks: async () => {
        const error = new Error('the restore refused');
        error.name = 'RestoreFailedError';
        throw error;
      },
      Works: async () => ({ ok: true }),
    };
    const run = await runDefinitionLocally(
      DEFINITION,
      {},
      {
        handlers,
        onEvent: progressLines(
          (line) => lines.push(line),
          (state) => state in handlers,
          (state) => entered.push(state),
        ),
      },
    );
    expect(run.status).toBe('SUCCEEDED');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^✗ Breaks \(\d+\.\d s\): RestoreFailedError$/);
    expect(lines[1]).toMatch(/^✓ Works \(\d+\.\d s\)$/);
    expect(entered).toEqual(['Breaks', 'Pick', 'Works']);
  });
});

describe('interruptedState', () => {
  const last = { drill: { drillId: 'd' }, restore: { ok: 1 } } as unknown as DrillState;

  it('fails the step that was running, keeping what came before', () => {
    const state = interruptedState(last, {
      signal: 'SIGINT',
      during: 'Smoke: ready',
      step: 'smokeReady',
      preparing: false,
    });
    expect(state.failures).toEqual({
      smokeReady: { Error: INTERRUPTED_ERROR, Cause: 'interrupted by SIGINT before it finished' },
    });
    expect(state.restore).toEqual(last.restore);
  });

  it('fails the preparation when no step had started', () => {
    const state = interruptedState({} as DrillState, {
      signal: 'SIGTERM',
      during: 'preparing the source (start, backup)',
      step: null,
      preparing: true,
    });
    expect(state.failures?.[PREPARE_STEP]).toEqual({
      Error: INTERRUPTED_ERROR,
      Cause: 'interrupted by SIGTERM during preparing the source (start, backup)',
    });
  });

  it('adds no failure between two steps of a validated drill', () => {
    const state = interruptedState(last, { signal: 'SIGINT', during: 'Pick', step: null, preparing: false });
    expect(state.failures).toBeUndefined();
    expect(state).not.toBe(last);
  });
});
