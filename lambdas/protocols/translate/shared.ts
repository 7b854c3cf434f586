import { InvalidRequestError } from '../../errors.ts';
/**
 * Helpers every translator uses. Bodies and upstream answers reach a translator as parsed JSON that
 * nothing has validated field by field, so each field is checked where it is read.
 */

export type Json = Record<string, unknown>;

export const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The objects of an array (anything else in it skipped); none when `value` is not an array. */
export const records = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isRecord) : []);

export const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/** `JSON.parse`, or undefined when `value` is not JSON. */
export const parseJson = (value: string): unknown => {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
};

/**
 * A 400 naming the request field at fault (`param` in the OpenAI error envelope).
 *
 * @example
 * throw invalid('messages must be an array', 'messages');
 */
export const invalid = (message: string, param: string): InvalidRequestError => {
  const error = new InvalidRequestError(message);
  error.param = param;
  return error;
};

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
