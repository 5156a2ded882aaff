/**
 * The README's sample escalation is what a real drill sends: a local drill through the
 * synthesized state machine with `--inject ready-503`, its READY_NOT_OK message as the notifier
 * recorded it, compared with the block between the README's markers (what changes from run to
 * run aside). When it fails, `npm run docs:escalation` rewrites the block from a fresh drill.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  normalizeSample,
  presentSample,
  README,
  readmeSample,
  renderEscalationSample,
  withSample,
} from '../../bin/docs-escalation.ts';

describe('README sample escalation', () => {
  it('is the message a drill whose readiness check fails sends, with the evidence of that check', async () => {
    const sample = await renderEscalationSample();
    // The evidence is the readiness step's own, carried through the state machine.
    expect(sample.text).toContain('smoke-ready.status: 503');
    expect(sample.text).toContain('smoke-ready.path: /health/ready');
    expect(sample.text).toContain('smoke-ready.error: ReadyNotOkError');
    const shown = readmeSample(readFileSync(README, 'utf8'));
    expect(shown, 'README.md has no sample block: run npm run docs:escalation').not.toBeNull();
    expect(
      normalizeSample(shown ?? ''),
      'the README sample no longer matches what a drill sends: run npm run docs:escalation',
    ).toBe(normalizeSample(presentSample(sample)));
  }, 300_000);

  it('shows fixed values where a run differs, and rewrites only the block between the markers', () => {
    const sample = {
      drillId: '20261201t151500z-9f3c',
      stateDir: '/tmp/recovery-drill-docs-AbC123/state',
      text: 'drill 20261201t151500z-9f3c at 2026-12-01T15:15:00.000Z, then 2026-12-01T15:15:08.500Z: see /tmp/recovery-drill-docs-AbC123/state/reports/20261201t151500z-9f3c.md',
    };
    const shown = presentSample(sample);
    expect(shown).toBe(
      'drill 20261126t030000z-0a1b at 2026-11-26T03:00:00.000Z, then 2026-11-26T03:00:08.500Z: see /home/sre/.recovery-drill/reports/20261126t030000z-0a1b.md',
    );
    expect(normalizeSample(shown)).toBe(normalizeSample(sample.text));
    const readme = withSample(
      '# A\n<!-- escalation-sample:begin (npm run docs:escalation) -->\nold\n<!-- escalation-sample:end -->\n# B\n',
      shown,
    );
    expect(readmeSample(readme)).toBe(shown);
    expect(readme.startsWith('# A\n')).toBe(true);
    expect(readme.endsWith('<!-- escalation-sample:end -->\n# B\n')).toBe(true);
  });
});
