/**
 * The command-line flags (and environment variables, for the Helm chart) of the provider limits of
 * `netpolicy.ts`. Kept here so that `config.ts` only wires them in: each flag is parsed and checked at
 * start-up, and a bad value stops the process with a sentence naming the flag.
 *
 * | flag | env | default |
 * |---|---|---|
 * | `--webhook-deny-cidrs` | `CAPSTAN_WEBHOOK_DENY_CIDRS` | link-local, `fd00:ec2::254`, `100.100.100.200` |
 * | `--webhook-allow-cidrs` | `CAPSTAN_WEBHOOK_ALLOW_CIDRS` | empty (everything not denied) |
 * | `--webhook-allow-hosts` | `CAPSTAN_WEBHOOK_ALLOW_HOSTS` | empty |
 * | `--webhook-max-timeout` | `CAPSTAN_WEBHOOK_MAX_TIMEOUT` | 30 (seconds) |
 * | `--provider-timeout` | `CAPSTAN_PROVIDER_TIMEOUT` | 30 (seconds) |
 * | `--provider-max-response-bytes` | `CAPSTAN_PROVIDER_MAX_RESPONSE_BYTES` | 4194304 |
 * | `--aws-endpoint-url` | `AWS_ENDPOINT_URL` | empty (AWS's endpoints by region) |
 */
import type { Command } from 'commander';
import {
  DEFAULT_PROVIDER_MAX_RESPONSE_BYTES,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  DEFAULT_WEBHOOK_DENY_CIDRS,
  DEFAULT_WEBHOOK_MAX_TIMEOUT_MS,
  NetworkPolicy,
  splitList,
  type ProviderLimits,
} from './netpolicy';

/**
 * Adds the provider flags to `cmd`, each with its environment variable as the default.
 * @param cmd - the commander program.
 * @param env - the environment (process.env).
 * @returns `cmd`, for chaining.
 */
export function addProviderOptions(cmd: Command, env: NodeJS.ProcessEnv): Command {
  return cmd
    .option(
      '--webhook-deny-cidrs <list>',
      'comma-separated ranges webhook stores (and kubernetes stores with their own server.url) may never reach; always wins (empty: none)',
      env.CAPSTAN_WEBHOOK_DENY_CIDRS ?? DEFAULT_WEBHOOK_DENY_CIDRS.join(','),
    )
    .option(
      '--webhook-allow-cidrs <list>',
      'when set (or --webhook-allow-hosts is), webhook stores may reach only these ranges (or those hosts)',
      env.CAPSTAN_WEBHOOK_ALLOW_CIDRS ?? '',
    )
    .option(
      '--webhook-allow-hosts <list>',
      'when set, webhook stores may reach these host names (exact, or *.example.com) besides --webhook-allow-cidrs',
      env.CAPSTAN_WEBHOOK_ALLOW_HOSTS ?? '',
    )
    .option(
      '--webhook-max-timeout <seconds>',
      'largest webhook store timeout; a larger one is clamped to it',
      env.CAPSTAN_WEBHOOK_MAX_TIMEOUT ?? String(DEFAULT_WEBHOOK_MAX_TIMEOUT_MS / 1000),
    )
    .option(
      '--provider-timeout <seconds>',
      'deadline of one kubernetes provider API call, connect to last byte',
      env.CAPSTAN_PROVIDER_TIMEOUT ?? String(DEFAULT_PROVIDER_TIMEOUT_MS / 1000),
    )
    .option(
      '--provider-max-response-bytes <bytes>',
      'largest response of one webhook or kubernetes provider call',
      env.CAPSTAN_PROVIDER_MAX_RESPONSE_BYTES ?? String(DEFAULT_PROVIDER_MAX_RESPONSE_BYTES),
    )
    .option(
      '--aws-endpoint-url <url>',
      'endpoint of every aws store (an emulator, a VPC endpoint); empty: AWS by region',
      env.AWS_ENDPOINT_URL ?? '',
    );
}

function positive(flag: string, value: string | undefined, scale: number): number {
  const n = Number(value);
  if (!value || !Number.isFinite(n) || n <= 0)
    throw new Error(`${flag} must be a positive number, got "${value ?? ''}"`);
  return Math.round(n * scale);
}

function httpUrl(flag: string, value: string): string {
  if (!/^https?:\/\/[^/]/i.test(value)) throw new Error(`${flag} must be an http(s) URL, got "${value}"`);
  return value;
}

/**
 * Builds the provider limits from parsed options (commander's camelCase keys).
 * @param o - `cmd.opts()`.
 * @throws Error naming the flag for a bad CIDR, host name or number.
 */
export function providerLimitsFromOptions(o: Record<string, string | undefined>): ProviderLimits {
  return {
    network: new NetworkPolicy({
      denyCidrs: splitList(o.webhookDenyCidrs),
      allowCidrs: splitList(o.webhookAllowCidrs),
      allowHosts: splitList(o.webhookAllowHosts),
    }),
    webhookMaxTimeoutMs: positive('--webhook-max-timeout', o.webhookMaxTimeout, 1000),
    kubernetesTimeoutMs: positive('--provider-timeout', o.providerTimeout, 1000),
    maxResponseBytes: positive('--provider-max-response-bytes', o.providerMaxResponseBytes, 1),
    ...(o.awsEndpointUrl ? { awsEndpointUrl: httpUrl('--aws-endpoint-url', o.awsEndpointUrl) } : {}),
  };
}
