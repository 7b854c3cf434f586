import type { Stores } from '../store/index.ts';

/**
 * What a service needs from outside: the stores it reads and writes, and a clock. Each service
 * names the stores it uses, so `createStores(…)` passes as is and a test may pass fewer.
 *
 * @example await createAccount({ wallets: stores.wallets }, { accountId: 'acme' })
 */
export type ServiceDeps<Name extends keyof Stores> = Pick<Stores, Name> & {
  /** The time a service stamps and compares with; default: the system clock. */
  now?: () => Date;
};

/** The deps' time. */
export const clock = (deps: { now?: () => Date }): Date => deps.now?.() ?? new Date();
