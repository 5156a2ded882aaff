/**
 * `Clean up`: the drill's app, secret and instance removed, always, on every path (also after a
 * failure, and after an interrupt). Each is tried whatever happened to the others; what could not
 * be removed fails the step (CLEANUP_FAILED) naming it, beside what was removed.
 */
import { CleanupFailedError } from '../ports/errors.ts';
import { type StepContext, timed } from './context.ts';

export async function cleanup({ state, deps }: StepContext) {
  const drill = state.drill;
  return timed(deps, async () => {
    if (!drill) return { removed: [], kept: [], detail: 'nothing to clean up: the drill never started' };
    const removed: string[] = [];
    const kept: string[] = [];
    const problems: string[] = [];
    const attempt = async (what: string, action: () => Promise<void>) => {
      try {
        await action();
      } catch (error) {
        problems.push(`${what}: ${(error as Error).message}`);
      }
    };
    await attempt('app', async () => {
      removed.push(...(await deps.app.stopAll(drill.drillId)));
    });
    await attempt('drill secret', async () => {
      // Left as it is when it already holds a newer drill's connection (a late abort cleanup).
      if (await deps.secrets.clear(drill.drillId)) removed.push(`secret of ${drill.drillId}`);
    });
    await attempt(`instance ${drill.instanceId}`, async () => {
      const instance = await deps.recovery.describeInstance(drill.instanceId);
      if (!instance) return;
      if (deps.settings.keepInstance) {
        kept.push(instance.id);
        return;
      }
      await deps.recovery.deleteInstance(drill.instanceId);
      removed.push(instance.id);
    });
    if (problems.length > 0) {
      throw new CleanupFailedError(`cleanup left drill resources behind: ${problems.join('; ')}`, {
        instanceId: drill.instanceId,
        failed: problems.map((p) => p.slice(0, p.indexOf(':'))).join(', '),
        removed: removed.join(', ') || null,
        kept: kept.join(', ') || null,
      });
    }
    return {
      removed,
      kept,
      detail: `removed ${removed.length > 0 ? removed.join(', ') : 'nothing'}${kept.length > 0 ? `; kept ${kept.join(', ')} (--keep)` : ''}`,
    };
  });
}
