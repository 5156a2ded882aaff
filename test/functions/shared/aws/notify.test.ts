import { describe, expect, it } from 'vitest';
import { createEscalation } from '../../../../functions/core/escalations.ts';
import {
  MAX_SUBJECT_LENGTH,
  publishEscalation,
  subjectLine,
} from '../../../../functions/shared/aws/notify.ts';
import { createTopicWithInbox, useMotoClients } from '../../fixtures.ts';

const aws = useMotoClients();

describe('escalation notices', () => {
  it('publishes class and severity as message attributes and the escalation as JSON', async () => {
    const inbox = await createTopicWithInbox(aws.clients);
    const escalation = createEscalation(
      'PRUNE_BLOCKED',
      'prune/btcts/2026-11-26T04:30:00.000Z',
      'listing incomplete',
      {
        region: 'eu-west-1',
      },
    );
    await publishEscalation(aws.clients.sns, inbox.topicArn, 'production', escalation);
    const [message, ...rest] = await inbox.drain();
    expect(rest).toEqual([]);
    expect(message?.subject).toBe('[production] WARNING PRUNE_BLOCKED: Snapshot pruning refused');
    expect(message?.attributes).toEqual({
      class: 'PRUNE_BLOCKED',
      severity: 'warning',
      environment: 'production',
      kind: 'escalation',
    });
    expect(message?.body).toMatchObject({ ...escalation, kind: 'escalation', environment: 'production' });
  });

  it('never publishes a password from an error message', async () => {
    const inbox = await createTopicWithInbox(aws.clients);
    const escalation = createEscalation(
      'BACKUP_FAILED',
      'snapshot/btcts/2026-11-26',
      'connect failed: postgresql://app:S3cret-pw@db.internal:5432/btcts',
      { detail: 'password=S3cret-pw' },
    );
    await publishEscalation(aws.clients.sns, inbox.topicArn, 'production', escalation);
    const [message] = await inbox.drain();
    expect(message?.message).not.toContain('S3cret-pw');
    expect(message?.message).toContain('postgresql://app:***@db.internal');
  });

  it('keeps subjects under the SNS limit and free of line breaks', () => {
    const subject = subjectLine(`[production] CRITICAL BACKUP_STALE:\n${'x'.repeat(200)}`);
    expect(subject).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(subject).toMatch(/^\[production\] CRITICAL BACKUP_STALE: x+\.\.\.$/);
    expect(subjectLine('short\tsubject')).toBe('short subject');
  });
});
