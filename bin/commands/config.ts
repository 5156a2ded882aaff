import { loadConfig } from '../../functions/shared/config-file.ts';
import { type Command, EXIT, stringOption } from './types.ts';

export const configValidate: Command = {
  name: 'config validate',
  usage: '[--config FILE] [--print]',
  summary: 'Validate the configuration and report every problem at once (exit 2 naming each bad field).',
  options: { config: { type: 'string' }, print: { type: 'boolean' } },
  optionHelp: {
    config: 'configuration file (default: $RECOVERY_DRILL_CONFIG, then ./recovery-drill.config.json)',
    print: 'print the effective configuration, defaults filled in, as JSON',
  },
  async run({ values, io }) {
    const loaded = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    if (values.print) io.out(JSON.stringify(loaded.config, null, 2));
    else io.out(`${loaded.path}: valid`);
    return EXIT.ok;
  },
};
