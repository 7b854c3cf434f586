/**
 * What a route's upstream may reach. The rules, for the base URL of every route:
 * - `https` only; `http` with the route's `allowHttp`, or to loopback under the local gateway;
 * - never a cloud metadata address or name, a link-local address, or one that is not unicast;
 * - a private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7…) only with `allowPrivate`;
 *   loopback (127/8, ::1) under the local gateway, or with `allowPrivate`.
 * `routes set` checks what the URL says ({@link baseUrlRefusal}); the proxy checks it again, then
 * every address the host resolves to when it connects ({@link createReach}), so DNS cannot swap it.
 */
import { BlockList, isIP } from 'node:net';
import type { Resolve, UpstreamGuard } from '../providers/http.ts';
import type { Route } from '../vocabulary.ts';

type AddressClass = 'metadata' | 'link-local' | 'reserved' | 'loopback' | 'private' | 'public';

const blocks = (v4: readonly string[], v6: readonly string[]): BlockList => {
  const list = new BlockList();
  for (const block of v4) {
    const [network = '', prefix = '32'] = block.split('/');
    list.addSubnet(network, Number(prefix), 'ipv4');
  }
  for (const block of v6) {
    const [network = '', prefix = '128'] = block.split('/');
    list.addSubnet(network, Number(prefix), 'ipv6');
  }
  return list;
};

// In the order they are tried: a metadata address inside a private range is a metadata address.
// A BlockList's IPv4 rules also match IPv4-mapped IPv6 addresses (::ffff:169.254.169.254).
const CLASSES: readonly (readonly [AddressClass, BlockList])[] = [
  // AWS (v4 and v6), ECS task metadata, Alibaba Cloud; GCP and Azure use 169.254.169.254 too.
  ['metadata', blocks(['169.254.169.254', '169.254.170.2', '100.100.100.200'], ['fd00:ec2::254'])],
  ['link-local', blocks(['169.254.0.0/16'], ['fe80::/10'])],
  // "This network" (0.0.0.0 reaches the local host), multicast, class E and broadcast.
  ['reserved', blocks(['0.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'], ['::/128', 'ff00::/8'])],
  ['loopback', blocks(['127.0.0.0/8'], ['::1/128'])],
  [
    'private',
    blocks(
      ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '192.0.0.0/24', '198.18.0.0/15'],
      // Unique local, the deprecated site-local, and NAT64 (which reaches IPv4 addresses, private ones too).
      ['fc00::/7', 'fec0::/10', '64:ff9b::/96', '64:ff9b:1::/48'],
    ),
  ],
];

const classOf = (address: string): AddressClass => {
  const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return CLASSES.find(([, list]) => list.check(address, type))?.[0] ?? 'public';
};

/** Host names of cloud metadata services (AWS, GCP), refused whatever they resolve to. */
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** What a route allows beyond the defaults, and whether the local gateway is the one connecting. */
export interface ReachRules {
  /** The local gateway (`npm start`, tests): loopback upstreams are allowed, over http too. */
  local: boolean;
  allowHttp: boolean;
  allowPrivate: boolean;
}

interface AddressRules {
  local: boolean;
  allowPrivate: boolean;
  /** Plain http without `allowHttp`: the local gateway may use it, to loopback only. */
  loopbackOnly: boolean;
}

const addressRefusal = (cls: AddressClass, rules: AddressRules): string | undefined => {
  if (cls === 'metadata') return 'is a cloud metadata address (never allowed)';
  if (cls === 'link-local') return 'is link-local, 169.254.0.0/16 or fe80::/10 (never allowed)';
  if (cls === 'reserved') return 'is not a unicast address (never allowed)';
  if (rules.loopbackOnly && cls !== 'loopback') {
    return 'is not loopback: plain http reaches loopback only, under the local gateway (use https, or --allow-http)';
  }
  if (cls === 'loopback' && !rules.local && !rules.allowPrivate) {
    return 'is loopback, 127.0.0.0/8 or ::1 (allowed under the local gateway, or with --allow-private)';
  }
  if (cls === 'private' && !rules.allowPrivate) {
    return 'is in a private range, 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7… (pass --allow-private)';
  }
  return undefined;
};

/** The host of a URL as an IP literal or a lower-case name without its trailing dot. */
const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');

const isLoopbackName = (host: string): boolean => host === 'localhost' || host.endsWith('.localhost');

/**
 * Why a route may not use `url` as its base URL, from the URL alone (scheme, IP literal, known
 * names), or undefined. A DNS name passes here; its addresses are checked when the proxy connects.
 *
 * @example baseUrlRefusal(new URL('http://169.254.169.254/latest'), { local: true, allowHttp: false, allowPrivate: false })
 * // 'plain http is allowed only …' — and the address is refused whatever the flags
 */
export const baseUrlRefusal = (url: URL, rules: ReachRules): string | undefined => {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol} is not http(s)`;
  const host = hostOf(url);
  if (METADATA_HOSTS.has(host)) return `${host} is a cloud metadata host (never allowed)`;
  const cls = isIP(host) ? classOf(host) : isLoopbackName(host) ? 'loopback' : undefined;
  const always = cls && addressRefusal(cls, { local: true, allowPrivate: true, loopbackOnly: false });
  if (always) return `${host} ${always}`;
  if (url.protocol === 'http:' && !rules.allowHttp && !(rules.local && cls === 'loopback')) {
    return 'plain http is allowed only to loopback under the local gateway, or with --allow-http: use https';
  }
  const refusal =
    cls && addressRefusal(cls, { local: rules.local, allowPrivate: rules.allowPrivate, loopbackOnly: false });
  return refusal && `${host} ${refusal}`;
};

export interface ReachOptions {
  /** The local gateway: loopback upstreams are allowed, over http too. Off (strict) on AWS. */
  local?: boolean;
  /** How host names are resolved; tests stub it. Default: the system resolver. */
  resolve?: Resolve;
}

/** The guards of one gateway: one per kind of route, so each has its own pool of kept-alive sockets. */
export interface Reach {
  readonly local: boolean;
  /** Why a route may not use `url` at all, or undefined ({@link baseUrlRefusal} with this gateway's mode). */
  refusal(url: URL, route: Pick<Route, 'allowHttp' | 'allowPrivate'>): string | undefined;
  /** The connect-time guard for a route's upstream at `url` (which {@link refusal} let through). */
  guard(url: URL, route: Pick<Route, 'allowHttp' | 'allowPrivate'>): UpstreamGuard;
}

/**
 * The reach of a gateway: strict by default (AWS), `local` for `npm start` and the tests.
 *
 * @example const reach = createReach({ local: true });
 * adapter.send({ …, guard: reach.guard(new URL(baseUrl), route) });
 */
export const createReach = (options: ReachOptions = {}): Reach => {
  const local = options.local === true;
  const guards = new Map<string, UpstreamGuard>();
  return {
    local,
    refusal: (url, route) =>
      baseUrlRefusal(url, { local, allowHttp: route.allowHttp === true, allowPrivate: route.allowPrivate === true }),
    guard(url, route) {
      const rules: AddressRules = {
        local,
        allowPrivate: route.allowPrivate === true,
        loopbackOnly: url.protocol === 'http:' && route.allowHttp !== true,
      };
      const key = `${rules.allowPrivate}/${rules.loopbackOnly}`;
      let guard = guards.get(key);
      if (!guard) {
        guard = {
          refusal: (address) => addressRefusal(classOf(address), rules),
          ...(options.resolve ? { resolve: options.resolve } : {}),
        };
        guards.set(key, guard);
      }
      return guard;
    },
  };
};
