import { renderRunbook } from '../../functions/core/runbook.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { type Command, EXIT, stringOption } from './types.ts';

/** `runbook`: the runbook printed from the configuration in force, so the document never drifts from what runs. */
export const runbookCommand: Command = {
  name: 'runbook',
  usage: '[--config FILE]',
  summary: 'Print the backup and recovery runbook (Markdown) rendered from the configuration in force.',
  options: { config: { type: 'string' } },
  optionHelp: {
    config: 'configuration file (default: $RECOVERY_DRILL_CONFIG, then ./recovery-drill.config.json)',
  },
  async run({ values, io }) {
    const { config } = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    io.out(renderRunbook(config));
    return EXIT.ok;
  },
};
