import { renderRunbook } from '../../functions/core/runbook.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { type CommandRunner, EXIT, stringOption } from './types.ts';

/** `runbook`: the runbook printed from the configuration in force, so the document never drifts from what runs. */
export const runbookCommand: CommandRunner = {
  async run({ values, io }) {
    const { config } = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    io.out(renderRunbook(config));
    return EXIT.ok;
  },
};
