import { loadConfig } from '../../functions/shared/config-file.ts';
import { type CommandRunner, EXIT, stringOption } from './types.ts';

export const configValidate: CommandRunner = {
  async run({ values, io }) {
    const loaded = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    if (values.print) io.out(JSON.stringify(loaded.config, null, 2));
    else io.out(`${loaded.path}: valid`);
    return EXIT.ok;
  },
};
