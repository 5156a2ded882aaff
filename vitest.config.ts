import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest, slowest first (from `.vitest-results.json` of a clean CI run:
 * local-drill about 460 s of the suite's 1100 s of file time on 2 cores). A clean clone has no
 * timing cache, so without this the longest file may start last and the suite takes its time
 * on top of everything else; started first, the other worker runs the rest beside it.
 */
const SLOWEST_FIRST = [
  'test/functions/drill/local-drill.test.ts',
  'test/functions/drill/quiet-source.test.ts',
  'test/docs/escalation-sample.test.ts',
  'test/functions/local/local-recovery.test.ts',
  'test/project/static.test.ts',
  'test/examples/bt-cts/seed.test.ts',
  'test/lib/app.test.ts',
];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FIRST.findIndex((path) => file.moduleId.endsWith(path));
      return index === -1 ? SLOWEST_FIRST.length : index;
    };
    // A stable sort: the rest keeps vitest's own order.
    return sorted
      .map((file, i) => ({ file, i }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i)
      .map((x) => x.file);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores: embedded PostgreSQL clusters and moto are real processes, so keep files to two at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    sequence: { sequencer: SlowestFirst },
    // The JSON report is what .ci/run counts; the default reporter is for people.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
