/** `Start app`: the app's own start command against the drill database (or the staging URL). */
import { AppStartError } from '../ports/errors.ts';
import { need, type StepContext, timed } from './context.ts';

export async function startApp({ state, deps }: StepContext) {
  const drill = need(state.drill, 'drill');
  const connection = need(state.connection, 'connection');
  return timed(deps, async () => {
    const app = await deps.app.start(drill.drillId, connection.secretRef).catch((error: Error) => {
      throw new AppStartError(`the app did not start: ${error.message}`, {}, { cause: error });
    });
    return { ...app, detail: `app started at ${app.baseUrl}${app.note ? ` (${app.note})` : ''}` };
  });
}
