/**
 * How a service refuses. Services neither print nor exit: callers map these. The CLI exits 2 on
 * {@link InvalidInputError} and 1 on the others; the console shows the message next to the form
 * and answers 400, 404 or 409.
 */
export abstract class ServiceError extends Error {
  abstract readonly code: 'invalid_input' | 'not_found' | 'conflict';
}

/** The input is malformed or out of range, whatever is stored: an account id with a space, a negative amount. */
export class InvalidInputError extends ServiceError {
  readonly code = 'invalid_input';
}

/** What the input names does not exist: an unknown account, key or route. */
export class NotFoundError extends ServiceError {
  readonly code = 'not_found';
  readonly entity: 'account' | 'key' | 'route' | 'member' | 'code';
  readonly id: string;

  constructor(entity: 'account' | 'key' | 'route' | 'member' | 'code', id: string, message: string) {
    super(message);
    this.entity = entity;
    this.id = id;
  }
}

/** The input contradicts what is stored: an account that already exists, a top-up id reused for another amount. */
export class ConflictError extends ServiceError {
  readonly code = 'conflict';
}

/**
 * A money limit (`MAX_*_NANO` in vocabulary.ts) refuses the change given what is stored, e.g. a
 * top-up that would carry the wallet past its ceiling. Nothing was written; the message names the
 * limit and the balance.
 */
export class LimitExceededError extends ConflictError {}

/** The account `id` does not exist. */
export const unknownAccount = (id: string): NotFoundError =>
  new NotFoundError('account', id, `Unknown account '${id}'`);
