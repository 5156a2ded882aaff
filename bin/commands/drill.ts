import { writeFile } from 'node:fs/promises';
import { validateDrillInput } from '../../functions/core/drill-input.ts';
import { InputError } from '../../functions/core/errors.ts';
import { renderReportMarkdown, summaryLine } from '../../functions/core/report-markdown.ts';
import { FAULTS, type FaultName, isFaultName } from '../../functions/drill/drivers/local/faults.ts';
import { runLocalDrill } from '../../functions/drill/drivers/local/run.ts';
import { localEngine } from '../../functions/local/engine.ts';
import { SourceCommandError } from '../../functions/local/source-provision.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { drillDefinition } from '../../lib/drill/definition.ts';
import { type CommandRunner, EXIT, stringOption, UsageError } from './types.ts';

/** A connection URL without its password: what a report may hold. */
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

export const drill: CommandRunner = {
  async run({ values, io }) {
    if (!values.local) {
      throw new UsageError('drill runs locally only: pass --local (in AWS, use `recovery-drill start`)');
    }
    const inject = stringOption(values, 'inject') ?? null;
    if (inject !== null && !isFaultName(inject)) {
      throw new InputError('--inject', inject, `one of ${Object.keys(FAULTS).join(', ')}`);
    }
    const input: Record<string, unknown> = {};
    const target = stringOption(values, 'target-time');
    if (target !== undefined) input.targetTime = target;
    const from = stringOption(values, 'from');
    if (from !== undefined) input.from = from;
    const reason = stringOption(values, 'reason');
    if (reason !== undefined) input.reason = reason;
    const requestedBy = stringOption(values, 'requested-by') ?? process.env.USER ?? null;
    if (requestedBy) input.requestedBy = requestedBy;
    // Refuse what can be refused without the database before anything starts (the drill
    // validates again against the restorable window).
    validateDrillInput(input, { now: new Date(), engine: 'local' });

    const loaded = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    const json = values.json === true;
    const progress = (line: string) => io.err(line);
    const definition = drillDefinition(loaded.config, loaded.baseDir);
    let result: Awaited<ReturnType<typeof runLocalDrill>>;
    try {
      result = await runLocalDrill({
        loaded,
        definition,
        input,
        keep: values.keep === true,
        inject: inject as FaultName | null,
        progress,
        notify: (line) => io.err(`notify: ${line}`),
      });
    } catch (error) {
      // A migrate or seed command of a new source failed: its own words are the message.
      if (error instanceof SourceCommandError) {
        io.err(`recovery-drill drill: ${error.message}`);
        return EXIT.failed;
      }
      throw error;
    }

    if (result.status === 'refused') {
      io.err(`recovery-drill drill: input refused, nothing was created: ${result.error}`);
      return EXIT.badInput;
    }
    const report = result.report;
    if (result.interrupted) {
      const { signal, during, cleaned } = result.interrupted;
      if (report) {
        if (json) io.out(JSON.stringify(report, null, 2));
        else io.out(renderReportMarkdown(report));
      }
      io.err(
        `recovery-drill drill: interrupted by ${signal} during ${during}; cleaned up: ${cleaned.length > 0 ? cleaned.join(', ') : 'nothing was left to clean'}`,
      );
      io.err(
        result.reportFiles
          ? `report (interrupted): ${result.reportFiles.markdown} and ${result.reportFiles.json}`
          : `the interrupted drill's report could not be written${result.error ? `: ${result.error}` : ''}`,
      );
      if (result.error) io.err(`recovery-drill drill: while cleaning up: ${result.error}`);
      return signal === 'SIGINT' ? EXIT.interruptedByInt : EXIT.interruptedByTerm;
    }
    if (!report) {
      io.err(`recovery-drill drill: the drill ended without a report: ${result.error}`);
      return EXIT.failed;
    }
    let output: Record<string, unknown> = { ...report };
    if (values.keep) {
      const instanceId = report.steps.length > 0 ? `${loaded.config.drill.instancePrefix}` : '';
      const engine = localEngine(loaded.config, loaded.baseDir);
      const instances = (await engine.status()).instances.filter(
        (i) => i.id.startsWith(instanceId) && i.tags['recovery-drill:drill-id'] === report.drillId,
      );
      const url = instances[0] ? await engine.instanceUrl(instances[0].id) : null;
      if (url) {
        output = { ...output, restoredDatabaseUrl: withoutPassword(url) };
        if (result.reportFiles)
          await writeFile(result.reportFiles.json, `${JSON.stringify(output, null, 2)}\n`);
        io.err(
          `kept ${instances[0]?.id}: ${withoutPassword(url)} (password: the source's, in ${engine.paths.credentials}); remove it with \`recovery-drill local cleanup\``,
        );
      }
    }
    if (json) io.out(JSON.stringify(output, null, 2));
    else io.out(renderReportMarkdown(report));
    if (result.reportFiles && !json)
      io.err(`report: ${result.reportFiles.markdown} and ${result.reportFiles.json}`);
    if (!result.reportFiles)
      io.err('recovery-drill drill: the report could not be written (its report step says why)');
    if (result.error) io.err(`recovery-drill drill: ${result.error}`);
    // The verdict in one line (requested target, T, P and its source, the heartbeat's bound, RPO, RTO).
    io.err(summaryLine(report));
    io.err(
      `the local source keeps running (it plays production${loaded.config.local.source.kind === 'app' && !loaded.config.local.source.trafficCommand ? '' : ', with a trickle of writes'}, and writes its heartbeat): \`npx recovery-drill local source stop\` stops it`,
    );
    const fault = result.fault;
    if (fault?.missed) {
      io.err(
        `recovery-drill drill: --inject ${fault.name} could not be applied to this app, so the drill ran without it: ${fault.missed}`,
      );
      return EXIT.badInput;
    }
    if (fault && FAULTS[fault.name].expects !== null && report.passed) {
      io.err(
        `recovery-drill drill: the drill passed although --inject ${fault.name} ${fault.broke ? `broke this: ${fault.broke}` : 'was injected'}; ` +
          `the drill did not notice (expected ${FAULTS[fault.name].expects})`,
      );
      return EXIT.failed;
    }
    return report.passed ? EXIT.ok : EXIT.failed;
  },
};
