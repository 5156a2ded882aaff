/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`). Reads the configuration the same way as the
 * CLI; a bad configuration or a missing artifact fails synth with the same message as
 * `recovery-drill config validate` and exit code 1, before anything is deployed.
 */
import { ConfigError } from '../functions/core/config.ts';
import { loadConfig } from '../functions/shared/config-file.ts';
import { buildApp } from '../lib/app.ts';

try {
  const { config, baseDir } = loadConfig();
  buildApp(config, { baseDir }).app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
