/**
 * The README's sample escalation ("What on-call receives"), produced by a real drill: a local
 * drill through the synthesized state machine with `--inject ready-503` (the session store's table
 * refuses writes, so BT-CTS's readiness probe answers 503), and the message its notifier recorded.
 * `test/docs/escalation-sample.test.ts` runs it and compares it with the README's block;
 *
 *   npm run docs:escalation            # rewrites the block between the markers in README.md
 *
 * What changes from run to run (the drill id, times, the temporary state folder, ports, attempt
 * counts) is shown with fixed values in the README and ignored by the comparison.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalNotification } from '../functions/drill/adapters/local/reports.ts';
import { runLocalDrill } from '../functions/drill/drivers/local/run.ts';
import { localEngine } from '../functions/local/engine.ts';
import { stopHeartbeatProcess } from '../functions/local/heartbeat-process.ts';
import { loadConfig } from '../functions/shared/config-file.ts';
import { drillDefinition } from '../lib/drill/definition.ts';

const REPO = join(import.meta.dirname, '..');
export const README = join(REPO, 'README.md');
export const BEGIN = '<!-- escalation-sample:begin (npm run docs:escalation) -->';
export const END = '<!-- escalation-sample:end -->';

/** The drill id and state folder the README shows in place of a run's own. */
const SHOWN_DRILL_ID = '20261126t030000z-0a1b';
const SHOWN_STATE_DIR = '/home/sre/.recovery-drill';

/** What a real drill with a failing readiness check sent on-call: subject, blank line, text. */
export interface EscalationSample {
  readonly text: string;
  readonly drillId: string;
  readonly stateDir: string;
}

/**
 * Runs the drill in a temporary state folder (source created, backed up, drilled, everything
 * stopped and removed after) and returns the READY_NOT_OK message its notifier recorded.
 */
export async function renderEscalationSample(
  log: (line: string) => void = () => undefined,
): Promise<EscalationSample> {
  const dir = mkdtempSync(join(tmpdir(), 'recovery-drill-docs-'));
  // PostgreSQL runs as the OS user postgres under root: it must be able to reach its folders.
  chmodSync(dir, 0o755);
  const stateDir = join(dir, 'state');
  const committed = JSON.parse(readFileSync(join(REPO, 'recovery-drill.config.json'), 'utf8'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      ...committed,
      app: { ...committed.app, repoPath: join(REPO, 'examples', 'bt-cts') },
      local: { stateDir, archiveTimeoutSeconds: 2 },
      smoke: { ...committed.smoke, readyBudgetSeconds: 8 },
    }),
  );
  const loaded = loadConfig({ explicitPath: join(dir, 'config.json') });
  const engine = localEngine(loaded.config, loaded.baseDir);
  try {
    const result = await runLocalDrill({
      loaded,
      definition: drillDefinition(loaded.config, loaded.baseDir),
      input: { reason: 'README sample', requestedBy: 'docs:escalation' },
      inject: 'ready-503',
      progress: log,
      handleSignals: false,
    });
    const recorded = readFileSync(join(stateDir, 'notifications.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LocalNotification);
    const sent = recorded.find((n) => n.kind === 'escalation' && n.attributes?.class === 'READY_NOT_OK');
    if (!sent)
      throw new Error(
        `the drill raised no READY_NOT_OK (status ${result.status}; ${result.report?.escalations.map((e) => e.class).join(', ') || 'no escalation'}): ${result.error ?? ''}`,
      );
    return { text: `${sent.subject}\n\n${sent.text}`, drillId: result.drillId, stateDir };
  } finally {
    await engine.cleanup().catch(() => undefined);
    await stopHeartbeatProcess(engine.paths).catch(() => undefined);
    await engine.stopSource().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;

/** The sample as the README shows it: this run's drill id, folder and times replaced by fixed ones. */
export function presentSample(sample: EscalationSample): string {
  const times = [...new Set(sample.text.match(ISO) ?? [])].sort();
  const first = times[0] ? Date.parse(times[0]) : 0;
  const shown = Date.parse('2026-11-26T03:00:00.000Z');
  return sample.text
    .replaceAll(sample.stateDir, SHOWN_STATE_DIR)
    .replaceAll(sample.drillId, SHOWN_DRILL_ID)
    .replace(ISO, (t) => new Date(shown + (Date.parse(t) - first)).toISOString());
}

/**
 * What two samples must share: everything but what changes from run to run (drill ids, times,
 * the state folder, ports, counts and durations).
 */
export function normalizeSample(text: string): string {
  return text
    .replace(ISO, '<time>')
    .replace(/\b\d{8}t\d{6}z-[0-9a-f]{4}\b/g, '<drill>')
    .replace(/\/(?:tmp|home)\/[^\s:;,)]*?\/state\b|\/home\/sre\/\.recovery-drill/g, '<state>')
    .replace(/\d+(?:\.\d+)?/g, '<n>');
}

/** The README's block between the markers (without them), or null when there is none. */
export function readmeSample(readme: string): string | null {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) return null;
  return readme
    .slice(begin + BEGIN.length, end)
    .replace(/^\s*```text\n/, '')
    .replace(/\n```\s*$/, '');
}

/** The README with the block between the markers replaced by `sample`. */
export function withSample(readme: string, sample: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${BEGIN} … ${END} block`);
  return `${readme.slice(0, begin + BEGIN.length)}\n\`\`\`text\n${sample}\n\`\`\`\n${readme.slice(end)}`;
}

if (process.argv.includes('--write')) {
  const sample = await renderEscalationSample((line) => process.stderr.write(`${line}\n`));
  writeFileSync(README, withSample(readFileSync(README, 'utf8'), presentSample(sample)));
  process.stderr.write(`README.md: sample escalation of drill ${sample.drillId} written\n`);
}
