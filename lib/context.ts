import type { IConstruct } from 'constructs';

/**
 * Reads a boolean from CDK context. `-c name=false` arrives as a string, cdk.json can hold a real
 * boolean: both are accepted. Absent means `undefined`, so the caller's default applies.
 *
 * @example
 * const protect = contextBoolean(this, 'deletionProtection') ?? stage === 'prod';
 */
export const contextBoolean = (scope: IConstruct, name: string): boolean | undefined => {
  const value: unknown = scope.node.tryGetContext(name);
  if (value === undefined) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`Context '${name}' must be true or false, got '${String(value)}'`);
};

/** Reads a number from CDK context (string or number); absent means `undefined`. */
export const contextNumber = (scope: IConstruct, name: string): number | undefined => {
  const value: unknown = scope.node.tryGetContext(name);
  if (value === undefined) return undefined;
  const parsed = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`Context '${name}' must be a number, got '${String(value)}'`);
  return parsed;
};

/** Reads a string from CDK context; absent means `undefined`. */
export const contextString = (scope: IConstruct, name: string): string | undefined => {
  const value: unknown = scope.node.tryGetContext(name);
  return value === undefined ? undefined : String(value);
};
