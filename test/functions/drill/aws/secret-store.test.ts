import { DescribeDBInstancesCommand, type RDSClient } from '@aws-sdk/client-rds';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRdsInstance } from '../../../../functions/drill/adapters/aws/rds-recovery.ts';
import { SecretsManagerDrillSecret } from '../../../../functions/drill/adapters/aws/secret-store.ts';
import type { InstanceDescription } from '../../../../functions/drill/ports/database-recovery.ts';
import { type Moto, startMoto } from '../../../support/moto.ts';
import { createDrillSecret, createPlainInstance, createSource, motoClients } from './support.ts';

describe('drill secret in Secrets Manager against moto', () => {
  let moto: Moto;
  let rds: RDSClient;
  let secrets: SecretsManagerClient;
  let drillSecretArn: string;
  let instance: InstanceDescription;
  let masterPassword: string;

  beforeAll(async () => {
    moto = await startMoto();
    ({ rds, secrets } = motoClients(moto.endpoint));
    // Stands in for the restored drill instance: an instance with its own RDS-managed master secret.
    await createSource(rds, 'recovery-drill-d1');
    const raw = (
      await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'recovery-drill-d1' }))
    ).DBInstances?.[0];
    if (!raw) throw new Error('moto did not create the instance');
    instance = describeRdsInstance(raw);
    const master = await secrets.send(
      new GetSecretValueCommand({ SecretId: raw.MasterUserSecret?.SecretArn }),
    );
    masterPassword = (JSON.parse(master.SecretString ?? '{}') as { password: string }).password;
    drillSecretArn = await createDrillSecret(secrets);
  });
  afterAll(async () => {
    rds?.destroy();
    secrets?.destroy();
    await moto?.stop();
  });

  const store = () => new SecretsManagerDrillSecret(secrets, rds, drillSecretArn);
  const drillSecret = async () =>
    JSON.parse(
      (await secrets.send(new GetSecretValueCommand({ SecretId: drillSecretArn }))).SecretString ?? '',
    );

  it("writes the restored instance's connection into the drill secret and returns only its public part", async () => {
    const written = await store().writeConnection('d1', instance);
    expect(written.secretRef).toBe(drillSecretArn);
    expect(written.connection).toEqual({
      host: instance.endpoint?.host,
      port: 5432,
      database: 'btcts',
      user: expect.any(String),
    });
    expect(JSON.stringify(written)).not.toContain(masterPassword);
    const value = await drillSecret();
    expect(value).toMatchObject({
      host: instance.endpoint?.host,
      port: 5432,
      dbname: 'btcts',
      password: masterPassword,
      drillId: 'd1',
    });
    expect(value.DATABASE_URL).toBe(
      `postgresql://${encodeURIComponent(value.username)}:${encodeURIComponent(masterPassword)}@${instance.endpoint?.host}:5432/btcts?sslmode=require`,
    );
  });

  it('reads the connection URL back from the reference', async () => {
    await store().writeConnection('d1', instance);
    const url = new URL(await store().connectionUrl(drillSecretArn));
    expect(decodeURIComponent(url.password)).toBe(masterPassword);
    expect(url.hostname).toBe(instance.endpoint?.host);
    expect(url.searchParams.get('sslmode')).toBe('require');
  });

  it('refuses a reference that is not the drill secret', async () => {
    await expect(store().connectionUrl(`${drillSecretArn}-other`)).rejects.toMatchObject({
      name: 'SecretError',
    });
  });

  it('clears the secret, idempotently, after which no connection can be read', async () => {
    await store().writeConnection('d1', instance);
    await store().clear('d1');
    await store().clear('d1');
    expect(await drillSecret()).toEqual({ cleared: true });
    await expect(store().connectionUrl(drillSecretArn)).rejects.toThrow(/holds no connection/);
  });

  it("never blanks another drill's connection: a late cleanup of an older drill leaves the newer one's in place", async () => {
    await store().writeConnection('d1', instance);
    const newer = await drillSecret();
    expect(await store().clear('d0')).toBe(false);
    expect(await drillSecret()).toEqual(newer);
    expect(await store().clear('d1')).toBe(true);
    expect(await drillSecret()).toEqual({ cleared: true });
    // Cleared already: any drill's cleanup may blank it again (idempotent).
    expect(await store().clear('d0')).toBe(true);
    expect(await drillSecret()).toEqual({ cleared: true });
  });

  it("keeps the login session beside the connection, the app's keys untouched, until cleanup blanks both", async () => {
    await store().writeConnection('d1', instance);
    const before = await drillSecret();
    expect(await store().readSession(drillSecretArn)).toBeNull();
    const session = JSON.stringify({ kind: 'bearer', token: 'tok-81f3' });
    await store().writeSession(drillSecretArn, session);
    expect(await store().readSession(drillSecretArn)).toBe(session);
    expect(await drillSecret()).toEqual({ ...before, session });
    await store().clear('d1');
    expect(await drillSecret()).toEqual({ cleared: true });
    await expect(store().readSession(drillSecretArn)).rejects.toThrow(/holds no connection/);
  });

  it('refuses to keep a session in a secret that holds no drill connection, or in another secret', async () => {
    await store().clear('d1');
    await expect(store().writeSession(drillSecretArn, '{}')).rejects.toMatchObject({
      name: 'SecretError',
      message: 'the drill secret holds no connection (cleared: true)',
    });
    expect(await drillSecret()).toEqual({ cleared: true });
    await expect(store().writeSession(`${drillSecretArn}-other`, '{}')).rejects.toMatchObject({
      name: 'SecretError',
    });
  });

  it('fails with a clear message when the instance has no RDS-managed master secret', async () => {
    await createPlainInstance(rds, 'recovery-drill-nosecret');
    await expect(
      store().writeConnection('d2', { ...instance, id: 'recovery-drill-nosecret' }),
    ).rejects.toMatchObject({ name: 'SecretError', message: expect.stringContaining('MasterUserSecret') });
  });
});
