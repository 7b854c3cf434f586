/**
 * A request's id (`x-request-id`, the ledger row's `requestId`): `gen-<epoch ms>-<Lambda request id>`,
 * after OpenRouter's `gen-<time>-<random>`. The time is when the request reached the gateway, which is
 * also the time its hold is stamped with, so the id alone names its ledger row (`<ISO time>#<id>`):
 * `GET /v1/generation?id=` reads that one item of the caller's own account, and nothing else.
 */

const REQUEST_ID = /^gen-(\d{13})-[A-Za-z0-9-]{1,64}$/;

/** The id of a request that reached the gateway at `startedAt` (epoch ms) in the invocation `awsRequestId`. */
export const requestIdFor = (startedAt: number, awsRequestId: string): string => `gen-${startedAt}-${awsRequestId}`;

/** When the request with this id reached the gateway; undefined for an id of another form. */
export const requestTime = (requestId: string): Date | undefined => {
  const match = REQUEST_ID.exec(requestId);
  if (!match) return undefined;
  const at = new Date(Number(match[1]));
  return Number.isNaN(at.getTime()) ? undefined : at;
};

/** The ledger sort key of the request's row, or undefined for an id of another form. */
export const ledgerSkOf = (requestId: string): string | undefined => {
  const at = requestTime(requestId);
  return at === undefined ? undefined : `${at.toISOString()}#${requestId}`;
};
