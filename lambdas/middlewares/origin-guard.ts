import { createHash, timingSafeEqual } from 'node:crypto';
import { PermissionError } from '../errors.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

/** The header CloudFront adds to each origin request (lib/tollgate-edge.ts sets the same name). */
export const ORIGIN_VERIFY_HEADER = 'x-tollgate-origin-verify';

/** A request that reached the function URL without coming through the gateway's CloudFront distribution. */
export class OriginRejectedError extends PermissionError {
  constructor() {
    super('Requests must go through the gateway URL');
  }
}

export interface OriginGuardOptions {
  /** The value CloudFront sends; read from Secrets Manager (cached) on AWS. */
  secret: () => Promise<string>;
  /** Called once per refused request, before the error is thrown (the proxy counts it). */
  onReject?: () => void;
}

// Digests of equal length, so the comparison takes the same time whatever the header holds.
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Refuses, with 403 `permission_error`, any request without CloudFront's origin header, before
 * anything else runs: no key lookup, no body parsing, no database read. The comparison is constant
 * time. The header is removed from the event once checked, so nothing later can pass it on.
 *
 * `use` it right after the error responder, and only when the shield is on (TOLLGATE_ORIGIN_SECRET_ARN).
 *
 * @example
 * middy(handler).use(errorResponder(…)).use(originGuard({ secret: () => getSecret(arn) }))
 */
export const originGuard = ({ secret, onReject }: OriginGuardOptions): ProxyMiddleware => {
  const originGuardBefore = async (request: ProxyRequest) => {
    const headers = request.event.headers ?? {};
    const given = headers[ORIGIN_VERIFY_HEADER];
    delete headers[ORIGIN_VERIFY_HEADER];
    const expected = await secret();
    if (given === undefined || expected === '' || !timingSafeEqual(digest(given), digest(expected))) {
      onReject?.();
      throw new OriginRejectedError();
    }
  };
  return { before: originGuardBefore };
};
