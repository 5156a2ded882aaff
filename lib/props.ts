/**
 * Small helpers every construct here uses for its props, so that defaults and validation behave
 * the same everywhere: defaults sit *under* the caller's props (an explicit value always wins, an
 * explicit `undefined` means "the default"), and a bad prop is refused at synth naming the prop
 * and the value instead of surfacing as a failed deployment.
 */
import { Token } from 'aws-cdk-lib';
import { type Config, configSchema } from '../functions/core/config.ts';
import { InputError } from '../functions/core/errors.ts';

/** The defaults with every prop the caller actually set laid over them. */
export function withDefaults<D extends object, P extends object>(defaults: D, props: P): D & P {
  const merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as D & P;
}

/**
 * Refuses a number prop outside [min, max] or not an integer. Tokens (values known only at
 * deploy time) are skipped: they cannot be checked at synth.
 * @throws InputError naming `<construct>.<prop>` and the value.
 */
export function checkInteger(field: string, value: number, min: number, max: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(field, value, `expected an integer from ${min} to ${max}`);
  }
}

/**
 * Refuses a string prop that does not match `pattern`. Tokens are skipped.
 * @throws InputError naming `<construct>.<prop>` and the value.
 */
export function checkPattern(field: string, value: string, pattern: RegExp, expected: string): void {
  if (Token.isUnresolved(value)) return;
  if (!pattern.test(value)) throw new InputError(field, value, expected);
}

/**
 * A configuration section with every default of the schema, for a construct built without a
 * configuration (the schema is the one place defaults are written).
 */
export function configDefaults<S extends keyof Config>(section: S): Pick<Config, S> {
  return { [section]: configSchema.shape[section].parse(undefined) } as Pick<Config, S>;
}
