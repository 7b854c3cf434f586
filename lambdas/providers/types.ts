import type { Operation, Protocol, ProviderKind, Route } from '../vocabulary.ts';
import type { UpstreamGuard, UpstreamResponse } from './http.ts';

export interface UpstreamCall {
  operation: Operation;
  route: Route;
  /** The request body, the route's upstream model already substituted. */
  body: Record<string, unknown>;
  stream: boolean;
  /** Resolved credential, absent for providers that need none. */
  credential: string | undefined;
  baseUrl: string | undefined;
  /** Which addresses the upstream connection may reach (checked when it is opened). */
  guard: UpstreamGuard;
  /** Client headers a provider may pass on (e.g. `anthropic-version`, `anthropic-beta`). */
  clientHeaders: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
}

/**
 * One upstream kind. Adapters build and send the upstream request; the gateway reads the answer
 * the same way for all of them (an {@link UpstreamResponse}: status, headers, a byte stream), so the
 * built-in echo provider, which answers in-process, takes the very same path.
 */
export interface ProviderAdapter {
  readonly kind: ProviderKind;
  /** The protocol the upstream speaks; `undefined` when it answers in whichever the client speaks. */
  readonly protocol: Protocol | undefined;
  /** Environment variable (locally) or secret (on AWS) naming the credential when the route names none. */
  readonly defaultCredential: string | undefined;
  /** Environment variable holding the default base URL, and the official one. */
  readonly defaultBaseUrl: { env: string; url: string } | undefined;
  send(call: UpstreamCall): Promise<UpstreamResponse>;
}
