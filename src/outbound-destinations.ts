/**
 * Where outbound webhooks (organizations' event endpoints, the reminder webhook) may be POSTed: public addresses
 * only, as Svix and Hookdeck do, so that no tenant can make the worker reach the internal network (SSRF). The check
 * runs on the address actually connected to: every address a name resolves to is checked inside the connection's
 * own DNS lookup, so a name that resolved to a public address when the endpoint was added and to 127.0.0.1 now (DNS
 * rebinding) is refused. Node's net.BlockList matches IPv4-mapped IPv6 forms (::ffff:10.0.0.1) against IPv4 ranges.
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface DestinationPolicy {
  /** CIDRs allowed although private (OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS): development and tests only */
  allowedNetworks: string[];
  /** plain http is refused (API_URL is not a loopback address) */
  requireHttps: boolean;
}

export type DestinationRefusal = 'destination_not_allowed' | 'https_required' | 'destination_unresolvable';

export class DestinationRefused extends Error {
  override name = 'DestinationRefused';
  constructor(
    readonly code: DestinationRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Not the public internet (IANA special-purpose registries, RFC 6890 and successors). */
const RESERVED: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network", 0.0.0.0 reaches the local host
  ['10.0.0.0', 8, 'ipv4'], // RFC 1918
  ['100.64.0.0', 10, 'ipv4'], // CGNAT, RFC 6598
  ['127.0.0.0', 8, 'ipv4'], // loopback
  ['169.254.0.0', 16, 'ipv4'], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12, 'ipv4'], // RFC 1918
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
  ['192.0.2.0', 24, 'ipv4'], // documentation
  ['192.88.99.0', 24, 'ipv4'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'ipv4'], // RFC 1918
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'], // documentation
  ['203.0.113.0', 24, 'ipv4'], // documentation
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 128, 'ipv6'], // unspecified
  ['::1', 128, 'ipv6'], // loopback
  ['::', 96, 'ipv6'], // IPv4-compatible (deprecated): ::127.0.0.1
  ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64
  ['100::', 64, 'ipv6'], // discard-only
  ['2001::', 23, 'ipv6'], // IETF protocol assignments, Teredo (embeds an IPv4 address)
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['2002::', 16, 'ipv6'], // 6to4 (embeds an IPv4 address)
  ['fc00::', 7, 'ipv6'], // unique-local
  ['fe80::', 10, 'ipv6'], // link-local
  ['fec0::', 10, 'ipv6'], // site-local (deprecated)
  ['ff00::', 8, 'ipv6'], // multicast
];

const reserved = new BlockList();
for (const [network, prefix, family] of RESERVED) reserved.addSubnet(network, prefix, family);

/** `10.0.0.0/8`, `::1/128`: the parts, or undefined when it is not a CIDR. */
export function parseCidr(cidr: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!match) return undefined;
  const version = isIP(match[1]);
  const prefix = Number(match[2]);
  if (!version || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { network: match[1], prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The host of a URL without IPv6 brackets: `[::1]` → `::1`. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** A host name's addresses, as the system resolves them (a test gives one that changes its answer). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true });

/** Checks destinations against the policy; its `lookup` is given to each outbound connection. */
export class OutboundDestinations {
  private readonly allowed = new BlockList();

  constructor(
    private readonly policy: DestinationPolicy,
    private readonly resolve: Resolver = systemResolver,
  ) {
    for (const cidr of policy.allowedNetworks) {
      const parsed = parseCidr(cidr);
      if (!parsed) throw new Error(`not a CIDR: ${cidr}`);
      this.allowed.addSubnet(parsed.network, parsed.prefix, parsed.family);
    }
  }

  /** Whether a connection to this IP address may be made. */
  isAllowedAddress(address: string): boolean {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    return this.allowed.check(address, family) || !reserved.check(address, family);
  }

  /** What can be told without DNS: the scheme, and an address literal (`http://10.0.0.1/`, `http://[::1]/`). */
  checkUrlSyntax(url: string): URL {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && (parsed.protocol !== 'http:' || this.policy.requireHttps)) {
      throw new DestinationRefused('https_required', 'The destination must be an https:// URL');
    }
    const host = hostOf(parsed);
    if (isIP(host) && !this.isAllowedAddress(host)) throw refusal();
    return parsed;
  }

  /** The URL's checks plus every address its host resolves to now (a name with none is refused too). */
  async check(url: string): Promise<void> {
    const host = hostOf(this.checkUrlSyntax(url));
    if (isIP(host)) return;
    let addresses: LookupAddress[];
    try {
      addresses = await this.resolve(host);
    } catch (error) {
      throw new DestinationRefused('destination_unresolvable', `The destination's host name does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!addresses.length) throw new DestinationRefused('destination_unresolvable', "The destination's host name does not resolve");
    if (addresses.some(({ address }) => !this.isAllowedAddress(address))) throw refusal();
  }

  /**
   * For http(s).request's `lookup`: resolves, then refuses the connection when any address is not allowed (rather
   * than picking an allowed one, which a hostile name could rotate among).
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (addresses) => {
        if (addresses.some(({ address }) => !this.isAllowedAddress(address))) return callback(refusal(), '', 0);
        const family = ({ IPv4: 4, IPv6: 6 } as Record<string, number>)[String(options.family)] ?? options.family;
        const wanted = family ? addresses.filter((found) => found.family === family) : addresses;
        if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, wanted);
        const [first] = wanted;
        if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

function refusal(): DestinationRefused {
  return new DestinationRefused(
    'destination_not_allowed',
    'The destination is not a public address (loopback, private, link-local, shared, multicast or reserved); OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS allows a private network',
  );
}
