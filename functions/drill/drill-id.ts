/**
 * A drill's names: its id (the execution name) and its instance's id. Apart from the steps so that
 * the start function and the local engine name a drill without loading the steps.
 */

const MAX_INSTANCE_ID = 63;

/** RDS-valid instance name for a drill: the prefix, then the drill id. */
export function drillInstanceId(prefix: string, drillId: string): string {
  const id = `${prefix}-${drillId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .slice(0, MAX_INSTANCE_ID)
    .replace(/-$/, '');
  return id;
}

/** A fresh drill id: UTC time plus randomness, valid as an execution name and inside an instance name. */
export function newDrillId(now: Date, random = Math.random): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
  const suffix = Math.floor(random() * 0xffff)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${suffix}`;
}
