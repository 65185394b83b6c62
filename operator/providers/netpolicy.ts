/**
 * The operator-level network policy and bounds of the calls providers make on a tenant's behalf.
 *
 * A namespace tenant writes its SecretStores, so a webhook `url` (or a kubernetes store's `server.url`)
 * is tenant input that capstan, running with its own network position, connects to and whose answer it
 * stores in a Secret the tenant can read. Without a policy a store such as
 * `url: http://169.254.169.254/latest/meta-data/iam/security-credentials/node` would copy the node's
 * cloud credentials into the tenant's namespace. ESO has no such policy; capstan keeps ESO's API and adds
 * one as operator flags (only the platform admin sets them):
 *
 * - `--webhook-deny-cidrs` (default {@link DEFAULT_WEBHOOK_DENY_CIDRS}): link-local (where every major
 *   cloud serves instance metadata, 169.254.169.254) and the metadata addresses outside it. Loopback and
 *   private ranges are NOT denied by default: in-cluster webhooks (`http://vault.vault.svc:8200`) are the
 *   normal use. The deny list always wins over the allow lists.
 * - `--webhook-allow-cidrs`, `--webhook-allow-hosts`: when either is set, only those destinations.
 * - "unspecified" addresses (0.0.0.0/8, ::) are always refused: they are never a real destination and
 *   on Linux reach the local host, which would slip past a deny of 127.0.0.0/8.
 *
 * The check is done on the resolved addresses, all of them, before any connection, and the connection is
 * then pinned to the checked address ({@link pinnedLookup}), so that DNS rebinding cannot swap the
 * address between the check and the connect. A denied destination gives the same error whether or not
 * anything listens there, so a store cannot be used as a port scanner of denied ranges.
 */
import dns from 'node:dns';
import net from 'node:net';
import { ProviderError } from './types';

/**
 * Default denied ranges: IPv4 and IPv6 link-local (AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
 * metadata at 169.254.169.254; Tencent at 169.254.0.23), AWS's IPv6 metadata address `fd00:ec2::254`,
 * and Alibaba Cloud's metadata address 100.100.100.200.
 */
export const DEFAULT_WEBHOOK_DENY_CIDRS: readonly string[] = [
  '169.254.0.0/16',
  'fe80::/10',
  'fd00:ec2::254/128',
  '100.100.100.200/32',
];

/** Largest `timeout` a webhook store may ask for, by default: 30 s. */
export const DEFAULT_WEBHOOK_MAX_TIMEOUT_MS = 30_000;
/** Overall deadline (connect to last byte) of one kubernetes provider API call, by default: 30 s. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 30_000;
/**
 * Largest provider response accepted, by default: 4 MiB. A Secret holds at most 1 MiB of data, which is
 * about 1.4 MiB as base64 inside the API's JSON; 4 MiB leaves room for metadata and for a list page of
 * typical Secrets, and bounds what one slow or hostile server can make capstan hold per call.
 */
export const DEFAULT_PROVIDER_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Always refused, whatever the lists say: "this host" addresses. */
const UNSPECIFIED: readonly string[] = ['0.0.0.0/8', '::/128'];

/** One resolved address. */
export interface ResolvedAddress {
  /** address - an IPv4 or IPv6 literal (no brackets). */
  address: string;
  /** family - 4 or 6. */
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (tests inject one; default: the system resolver). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/** The system resolver (`getaddrinfo`, as a connect would use), every address, in the system's order. */
export const systemResolver: Resolver = async (host) => {
  const all = await dns.promises.lookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Options of {@link NetworkPolicy}: CIDR lists (`10.0.0.0/8`, `fd00::/8`, or a bare address) and host names. */
export interface NetworkPolicyOptions {
  /** denyCidrs - refused ranges; default {@link DEFAULT_WEBHOOK_DENY_CIDRS}. An empty list denies nothing. */
  denyCidrs?: readonly string[];
  /** allowCidrs - when non-empty (or allowHosts is), only these ranges are reachable. */
  allowCidrs?: readonly string[];
  /** allowHosts - exact host names, or `*.example.com` for every subdomain of example.com. */
  allowHosts?: readonly string[];
}

/** One parsed CIDR. */
interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses one CIDR (`169.254.0.0/16`, `fd00:ec2::254/128`) or a bare address (a /32 or /128).
 * @param text - the entry as written in the flag.
 * @param flag - the flag name, for the error.
 * @throws Error naming the flag and the entry when it is not a CIDR.
 */
export function parseCidr(text: string, flag: string): Cidr {
  const [address, prefixText, extra] = text.trim().split('/');
  const v = net.isIP(address ?? '');
  const max = v === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!v || extra !== undefined || !/^\d+$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new Error(`${flag}: "${text}" is not a CIDR such as 169.254.0.0/16 or fd00:ec2::254/128`);
  }
  return { address, prefix, family: v === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * Splits a comma-separated flag value into trimmed, non-empty entries.
 * @param value - e.g. `169.254.0.0/16, fe80::/10`; undefined or empty gives `[]`.
 */
export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9_]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9_]*[a-z0-9])?)*\.?$/;

/**
 * Checks `--webhook-allow-hosts` entries: host names, optionally `*.` in front.
 * @throws Error naming the flag and the entry.
 */
export function parseHostList(entries: readonly string[], flag: string): string[] {
  return entries.map((h) => {
    const host = h.trim().toLowerCase().replace(/\.$/, '');
    if (!HOST.test(host) || net.isIP(host))
      throw new Error(`${flag}: "${h}" is not a host name such as vault.example.com or *.example.com`);
    return host;
  });
}

function blockList(cidrs: readonly string[], flag: string): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const { address, prefix, family } = parseCidr(c, flag);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

/** `[::1]` -> `::1`; drops an IPv6 zone (`fe80::1%eth0`), which does not change the range. */
function bare(address: string): string {
  return address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
}

/** Whether `address` lies in `list` (BlockList also matches IPv4-mapped IPv6 against IPv4 ranges). */
function inList(list: net.BlockList, address: string): boolean {
  const a = bare(address);
  const v = net.isIP(a);
  return v !== 0 && list.check(a, v === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Where providers may connect on a tenant's behalf: a deny list that always wins, and optional allow
 * lists of ranges and host names. Immutable; build once from the flags.
 */
export class NetworkPolicy {
  private readonly deny: net.BlockList;
  private readonly unspecified = blockList(UNSPECIFIED, 'built-in');
  private readonly allow: net.BlockList;
  private readonly hosts: string[];
  /** True when an allow list is set: then only listed destinations are reachable. */
  readonly restricted: boolean;
  /** The policy as configured, for messages and docs. */
  readonly options: Required<NetworkPolicyOptions>;

  /**
   * @param opts - the lists; see {@link NetworkPolicyOptions}.
   * @throws Error naming the flag when an entry is not a CIDR or a host name.
   */
  constructor(opts: NetworkPolicyOptions = {}) {
    const denyCidrs = opts.denyCidrs ?? DEFAULT_WEBHOOK_DENY_CIDRS;
    const allowCidrs = opts.allowCidrs ?? [];
    this.deny = blockList(denyCidrs, '--webhook-deny-cidrs');
    this.allow = blockList(allowCidrs, '--webhook-allow-cidrs');
    this.hosts = parseHostList(opts.allowHosts ?? [], '--webhook-allow-hosts');
    this.restricted = allowCidrs.length > 0 || this.hosts.length > 0;
    this.options = { denyCidrs: [...denyCidrs], allowCidrs: [...allowCidrs], allowHosts: [...this.hosts] };
  }

  /** True when `host` (a name, not an address) is on `--webhook-allow-hosts`. */
  hostAllowed(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.hosts.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1)) : h === p));
  }

  /**
   * Why `address` may not be reached, or undefined when it may.
   * @param address - an IP literal (brackets and zone allowed).
   * @param hostListed - the host name the address came from is on `--webhook-allow-hosts`.
   * @returns a phrase such as `is in a denied range (--webhook-deny-cidrs)`.
   */
  refusal(address: string, hostListed = false): string | undefined {
    if (!net.isIP(bare(address))) return 'is not an IP address';
    if (inList(this.unspecified, address)) return 'is an unspecified address (0.0.0.0/8, ::)';
    if (inList(this.deny, address)) return 'is in a range the operator denies (--webhook-deny-cidrs)';
    if (this.restricted && !hostListed && !inList(this.allow, address))
      return 'is not in the ranges or hosts the operator allows (--webhook-allow-cidrs, --webhook-allow-hosts)';
    return undefined;
  }
}

/** The policy of the defaults: link-local and metadata addresses denied, everything else allowed. */
export const DEFAULT_NETWORK_POLICY = new NetworkPolicy();

/**
 * Operator-level bounds of provider calls made on a tenant's behalf (flags of the platform admin).
 * Providers read them from `ProviderContext.limits`; unset means {@link DEFAULT_PROVIDER_LIMITS}.
 */
export interface ProviderLimits {
  /** network - where webhook stores (and kubernetes stores with their own `server.url`) may connect. */
  network: NetworkPolicy;
  /** webhookMaxTimeoutMs - the largest webhook `timeout`, in ms; a larger one is clamped to it. */
  webhookMaxTimeoutMs: number;
  /** kubernetesTimeoutMs - overall deadline of one kubernetes provider API call (connect to last byte), in ms. */
  kubernetesTimeoutMs: number;
  /** maxResponseBytes - the largest response body of one provider call, in bytes. */
  maxResponseBytes: number;
  /** resolver - DNS resolution of webhook hosts (tests inject one); default {@link systemResolver}. */
  resolver?: Resolver;
  /** awsEndpointUrl - the endpoint of every `aws` store's calls (`--aws-endpoint-url`); unset: AWS's, by region. */
  awsEndpointUrl?: string;
}

/** The defaults of {@link ProviderLimits}. */
export const DEFAULT_PROVIDER_LIMITS: ProviderLimits = {
  network: DEFAULT_NETWORK_POLICY,
  webhookMaxTimeoutMs: DEFAULT_WEBHOOK_MAX_TIMEOUT_MS,
  kubernetesTimeoutMs: DEFAULT_PROVIDER_TIMEOUT_MS,
  maxResponseBytes: DEFAULT_PROVIDER_MAX_RESPONSE_BYTES,
};

/**
 * Resolves `url`'s host and checks every address against the policy, before any connection is made.
 * An IP literal is checked as is. A host on `--webhook-allow-hosts` passes the allow lists, never the
 * deny list.
 * @param url - the rendered URL.
 * @param policy - the network policy.
 * @param resolver - DNS.
 * @param what - names the store and origin, for messages.
 * @returns the checked address to connect to (the first one the resolver gave).
 * @throws ProviderError, non-retryable when the policy refuses (the same error whether or not anything
 *   listens there), retryable when the name does not resolve.
 */
export async function checkDestination(
  url: URL,
  policy: NetworkPolicy,
  resolver: Resolver,
  what: string,
): Promise<ResolvedAddress> {
  const host = bare(url.hostname);
  const literal = net.isIP(host);
  let addresses: ResolvedAddress[];
  if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolver(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'resolution failed';
      throw new ProviderError(`${what}: the host name does not resolve (${code})`, {
        retryable: true,
        cause: err,
      });
    }
    if (!addresses.length)
      throw new ProviderError(`${what}: the host name has no address`, { retryable: true });
  }
  const listed = !literal && policy.hostAllowed(host);
  for (const a of addresses) {
    const why = policy.refusal(a.address, listed);
    if (why) {
      const shown = literal ? `the address ${a.address}` : `"${host}" resolves to ${a.address}, which`;
      throw new ProviderError(`${what}: ${shown} ${why}; capstan does not connect to it`);
    }
  }
  return addresses[0];
}

/**
 * A `lookup` for `http(s).request` / `net.connect` that always answers the already checked address, so
 * that the connection goes where the policy check looked (no second resolution that DNS rebinding could
 * answer differently). Handles both callback shapes (`all: true` is used by Node's autoSelectFamily).
 */
export function pinnedLookup(target: ResolvedAddress): net.LookupFunction {
  return ((_host: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    const cb = typeof options === 'function' ? (options as typeof callback) : callback;
    const all = typeof options === 'object' && options !== null && options.all === true;
    if (all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  }) as unknown as net.LookupFunction;
}
