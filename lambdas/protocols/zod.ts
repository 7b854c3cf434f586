/**
 * zod for the Lambda bundle: the `zod/mini` functions the request schemas use, with only the
 * English messages (about 22 KB). Importing the whole namespace, or full `zod`, pulls every locale
 * (about 420 KB) into the cold start. The CLI keeps full zod.
 */
import {
  array,
  boolean,
  config,
  int,
  looseObject,
  minLength,
  nullish,
  number,
  optional,
  positive,
  string,
  union,
} from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export type { z } from 'zod/mini';
export { array, boolean, looseObject, nullish, number, optional, string, union };

/** A required, non-empty string. */
export const nonEmpty = () => string().check(minLength(1));
/** A positive whole number. */
export const positiveInt = () => number().check(int(), positive());
/** A non-empty list of messages, each with a role (content is checked upstream). */
export const messageList = () => array(looseObject({ role: string() })).check(minLength(1));
/** A non-empty list. */
export const nonEmptyList = <T extends Parameters<typeof array>[0]>(item: T) => array(item).check(minLength(1));
