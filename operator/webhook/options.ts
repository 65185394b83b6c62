/**
 * The command-line flags of the git webhook, each with an environment variable fallback (the chart and
 * the bench set either). Kept out of `config.ts` so that its parser stays small.
 */
import type { Command } from 'commander';
import { parseByteAmount } from '../common/limits';

/** The webhook settings as the process configuration holds them. */
export interface WebhookConfig {
  /** Port of `POST /api/webhook` (`--git-webhook-port`); 0: no webhook server. */
  gitWebhookPort: number;
  /** Largest webhook request body in bytes (`--git-webhook-max-payload-bytes`). */
  gitWebhookMaxPayloadBytes: number;
}

/**
 * Adds the webhook flags to a command.
 * @param env - the environment for the fallbacks (`CAPSTAN_GIT_WEBHOOK_PORT`, `CAPSTAN_GIT_WEBHOOK_MAX_PAYLOAD_BYTES`).
 */
export function addWebhookOptions(cmd: Command, env: NodeJS.ProcessEnv): Command {
  return cmd
    .option(
      '--git-webhook-port <port>',
      "port of Argo CD's git webhook, POST /api/webhook (GitHub, GitLab, Bitbucket, Gogs/Gitea push events; 0: off)",
      env.CAPSTAN_GIT_WEBHOOK_PORT ?? '0',
    )
    .option(
      '--git-webhook-max-payload-bytes <bytes>',
      "largest git webhook request body (e.g. 50Mi, Argo CD's webhook.maxPayloadSizeMB default)",
      env.CAPSTAN_GIT_WEBHOOK_MAX_PAYLOAD_BYTES ?? '50Mi',
    );
}

/**
 * The parsed values of {@link addWebhookOptions}.
 * @throws Error naming the flag for a port outside 0-65535 or a bad byte amount.
 */
export function webhookFromOptions(o: Record<string, unknown>): WebhookConfig {
  const port = Number(o.gitWebhookPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--git-webhook-port must be a port number (0: off), got "${String(o.gitWebhookPort)}"`);
  const max = parseByteAmount('--git-webhook-max-payload-bytes', String(o.gitWebhookMaxPayloadBytes));
  if (max <= 0) throw new Error('--git-webhook-max-payload-bytes must be greater than 0');
  return { gitWebhookPort: port, gitWebhookMaxPayloadBytes: max };
}
