import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { detectProvider, verify } from './signature';
import { SecretReferenceError, secretsFromData, secretsFromValues, webhookValues } from './secrets';

const body = Buffer.from('{"ref":"refs/heads/main"}');
const hmac = (secret: string, b: Buffer = body): string =>
  createHmac('sha256', secret).update(b).digest('hex');

describe('detectProvider', () => {
  it('tells the providers apart by their headers, in Argo CD order', () => {
    assert.deepEqual(detectProvider({ 'x-github-event': 'push' }), { provider: 'github', event: 'push' });
    assert.deepEqual(detectProvider({ 'x-gitlab-event': 'Push Hook' }), {
      provider: 'gitlab',
      event: 'Push Hook',
    });
    // Gogs and Gitea also send GitHub's headers: Gogs wins.
    assert.deepEqual(detectProvider({ 'x-gogs-event': 'push', 'x-github-event': 'push' }), {
      provider: 'gogs',
      event: 'push',
    });
    assert.deepEqual(detectProvider({ 'x-gitea-event': 'push' }), { provider: 'gogs', event: 'push' });
    // Bitbucket Cloud sends X-Hook-UUID besides X-Event-Key; Bitbucket Server only X-Event-Key.
    assert.deepEqual(detectProvider({ 'x-hook-uuid': 'u', 'x-event-key': 'repo:push' }), {
      provider: 'bitbucket',
      event: 'repo:push',
    });
    assert.deepEqual(detectProvider({ 'x-event-key': 'repo:refs_changed' }), {
      provider: 'bitbucketserver',
      event: 'repo:refs_changed',
    });
    assert.deepEqual(detectProvider({ 'x-vss-activityid': 'id' }), { provider: 'azuredevops', event: '' });
    assert.equal(detectProvider({ 'content-type': 'application/json' }), undefined);
  });
});

describe('verify', () => {
  it('GitHub: X-Hub-Signature-256 is the HMAC-SHA256 of the exact body', () => {
    const secrets = { github: 's3cret' };
    assert.equal(
      verify('github', { 'x-hub-signature-256': `sha256=${hmac('s3cret')}` }, body, secrets),
      'ok',
    );
    assert.equal(
      verify('github', { 'x-hub-signature-256': `sha256=${hmac('s3cret').toUpperCase()}` }, body, secrets),
      'ok',
    );
    assert.equal(
      verify('github', { 'x-hub-signature-256': `sha256=${hmac('other')}` }, body, secrets),
      'failed',
    );
    const changed = Buffer.from('{"ref":"refs/heads/evil"}');
    assert.equal(
      verify('github', { 'x-hub-signature-256': `sha256=${hmac('s3cret')}` }, changed, secrets),
      'failed',
      'a signature of another body',
    );
    assert.equal(verify('github', {}, body, secrets), 'failed', 'no signature');
    assert.equal(
      verify('github', { 'x-hub-signature-256': hmac('s3cret') }, body, secrets),
      'failed',
      'no sha256=',
    );
    // SHA-1 X-Hub-Signature alone is not accepted.
    const sha1 = createHmac('sha1', 's3cret').update(body).digest('hex');
    assert.equal(verify('github', { 'x-hub-signature': `sha1=${sha1}` }, body, secrets), 'failed');
  });

  it('GitLab and Bitbucket Cloud: the token or UUID header equals the secret', () => {
    assert.equal(verify('gitlab', { 'x-gitlab-token': 'tok' }, body, { gitlab: 'tok' }), 'ok');
    assert.equal(verify('gitlab', { 'x-gitlab-token': 'tok2' }, body, { gitlab: 'tok' }), 'failed');
    assert.equal(verify('gitlab', {}, body, { gitlab: 'tok' }), 'failed');
    assert.equal(verify('bitbucket', { 'x-hook-uuid': '{u-1}' }, body, { bitbucket: '{u-1}' }), 'ok');
    assert.equal(verify('bitbucket', { 'x-hook-uuid': '{u-2}' }, body, { bitbucket: '{u-1}' }), 'failed');
  });

  it('Bitbucket Server: X-Hub-Signature sha256=; Gogs/Gitea: bare hex HMAC', () => {
    const s = { bitbucketserver: 'bb', gogs: 'gg' };
    assert.equal(verify('bitbucketserver', { 'x-hub-signature': `sha256=${hmac('bb')}` }, body, s), 'ok');
    assert.equal(verify('bitbucketserver', { 'x-hub-signature': `sha256=${hmac('x')}` }, body, s), 'failed');
    assert.equal(verify('gogs', { 'x-gogs-signature': hmac('gg') }, body, s), 'ok');
    assert.equal(verify('gogs', { 'x-gitea-signature': hmac('gg') }, body, s), 'ok');
    assert.equal(verify('gogs', { 'x-gogs-signature': hmac('x') }, body, s), 'failed');
  });

  it('Azure DevOps: basic auth with the configured user name and password', () => {
    const s = { azuredevops: 'user:pa:ss' };
    const basic = (v: string): string => `Basic ${Buffer.from(v).toString('base64')}`;
    assert.equal(verify('azuredevops', { authorization: basic('user:pa:ss') }, body, s), 'ok');
    assert.equal(verify('azuredevops', { authorization: basic('user:wrong') }, body, s), 'failed');
    assert.equal(verify('azuredevops', {}, body, s), 'failed');
  });

  it('a provider without a configured secret is accepted unverified (as Argo CD)', () => {
    assert.equal(verify('github', {}, body, {}), 'unverified');
    assert.equal(verify('gitlab', { 'x-gitlab-token': 'anything' }, body, { github: 'x' }), 'unverified');
  });
});

describe('secretsFromData', () => {
  it("reads Argo CD's argocd-secret keys; empty values are unset; other keys are ignored", () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    assert.deepEqual(
      secretsFromData({
        'webhook.github.secret': b64('gh'),
        'webhook.gitlab.secret': b64(''),
        'webhook.bitbucket.uuid': b64('{uuid}'),
        'webhook.bitbucketserver.secret': b64('bbs\n'),
        'webhook.gogs.secret': b64('gogs'),
        'webhook.azuredevops.username': b64('az'),
        'webhook.azuredevops.password': b64('pw'),
        'admin.password': b64('not read'),
      }),
      { github: 'gh', bitbucket: '{uuid}', bitbucketserver: 'bbs', gogs: 'gogs', azuredevops: 'az:pw' },
    );
    assert.deepEqual(secretsFromData(undefined), {});
  });
});

describe('webhookValues ($<secret>:<key> references, as Argo CD)', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const other = {
    metadata: { labels: { 'app.kubernetes.io/part-of': 'argocd' } },
    data: { github: b64('from-other') },
  };
  const read = (name: string) => Promise.resolve(name === 'webhooks' ? other : undefined);

  it('resolves a reference to a labelled Secret of the namespace', async () => {
    const values = await webhookValues(
      { 'webhook.github.secret': b64('$webhooks:github'), 'webhook.gitlab.secret': b64('plain') },
      read,
    );
    assert.deepEqual(secretsFromValues(values), { github: 'from-other', gitlab: 'plain' });
  });

  it('refuses a reference to a missing Secret, key or label, naming no value', async () => {
    for (const ref of ['$missing:github', '$webhooks:nokey']) {
      await assert.rejects(webhookValues({ 'webhook.github.secret': b64(ref) }, read), SecretReferenceError);
    }
    const unlabelled = () => Promise.resolve({ data: other.data });
    await assert.rejects(
      webhookValues({ 'webhook.github.secret': b64('$webhooks:github') }, unlabelled),
      (err: Error) => err instanceof SecretReferenceError && !err.message.includes('from-other'),
    );
  });
});
