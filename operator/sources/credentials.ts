/**
 * Repository credentials: the shape capstan reads from Argo CD repository secrets, Argo CD's rules for
 * picking the secret that applies to a repository URL, and the libgit2 remote callbacks that hand the
 * credentials to a transport.
 *
 * Everything here is pure: it never imports nodegit (only `git.ts` does), so the callbacks are built over
 * a small {@link CredentialFactory} that `git.ts` backs with `NodeGit.Credential`.
 */

/**
 * Credentials for one Git repository, as stored in an Argo CD repository secret
 * (`argocd.argoproj.io/secret-type: repository` or `repo-creds`).
 *
 * - `username` / `password`: HTTP(S) Basic auth (a token goes in `password`).
 * - `sshPrivateKey`: PEM/OpenSSH private key for `ssh://` and scp-like `git@host:path` URLs
 *   (unencrypted, as in Argo CD).
 * - `insecureIgnoreHostKey`: accept any SSH host key (Argo CD's deprecated field of the same name).
 * - `insecure`: skip server verification altogether: TLS certificates and SSH host keys (Argo CD's
 *   `insecure` field).
 */
export interface RepoCredentials {
  username?: string;
  password?: string;
  sshPrivateKey?: string;
  insecureIgnoreHostKey?: boolean;
  insecure?: boolean;
  /** Helm repositories: PEM TLS client certificate (Argo CD's `tlsClientCertData`). */
  tlsClientCertData?: string;
  /** Helm repositories: PEM key of the client certificate (Argo CD's `tlsClientCertKey`). */
  tlsClientCertKey?: string;
  /** Helm: the URL is an OCI registry `registry/path` (Argo CD's `enableOCI: "true"`). */
  enableOCI?: boolean;
  /** Helm OCI: talk plain HTTP to the registry (Argo CD's `insecureOCIForceHttp: "true"`). */
  insecureOCIForceHttp?: boolean;
}

/** One Argo CD repository secret, already decoded: its `url`, its kind, and its credentials. */
export interface RepoCredentialSecret {
  url: string;
  /** `repository`: credentials for exactly that URL; `repo-creds`: a template for every URL it prefixes. */
  type: 'repository' | 'repo-creds';
  creds: RepoCredentials;
}

/**
 * libgit2's `git_credential_t` bits (the `allowedTypes` argument of the credentials callback).
 * Copied here so this module does not need nodegit; values are libgit2's ABI and never change.
 */
export const CredentialType = {
  USERPASS_PLAINTEXT: 1,
  SSH_KEY: 2,
  SSH_CUSTOM: 4,
  DEFAULT: 8,
  SSH_INTERACTIVE: 16,
  USERNAME: 32,
  SSH_MEMORY: 64,
} as const;

/** libgit2's `git_cert_t` value for an SSH host key (the `certType` of the certificate-check callback). */
const CERT_HOSTKEY_LIBSSH2 = 2;

/** How many times the credentials callback answers for one operation before it gives up. */
export const MAX_CREDENTIAL_ATTEMPTS = 3;

/**
 * Builds transport credential objects. `git.ts` backs it with `NodeGit.Credential`; tests with plain
 * objects. `C` is the credential type of the implementation.
 */
export interface CredentialFactory<C> {
  /** Basic auth (`git_credential_userpass_plaintext_new`). */
  userpass(username: string, password: string): C;
  /** An SSH key held in memory (`git_credential_ssh_key_memory_new`); the public key is derived by libssh2. */
  sshKeyMemory(username: string, privateKey: string): C | Promise<C>;
  /** Only a user name, asked by SSH before the key (`git_credential_username_new`). */
  username(username: string): C | Promise<C>;
}

/**
 * The remote callbacks capstan passes to libgit2 (nodegit's `RemoteCallbacks` members of the same names).
 *
 * - `credentials(url, usernameFromUrl, allowedTypes)` returns a credential, or an `Error` to make libgit2
 *   abort the operation (nodegit maps a returned Error to `-1`).
 * - `certificateCheck(cert, valid, host)` returns `0` to accept the server, `1` to keep libgit2's own
 *   verdict (system CA store for TLS, `~/.ssh/known_hosts` for SSH).
 * - `lastError()` is the Error `credentials` last returned: nodegit replaces it with a generic
 *   "Method connect has thrown an error.", so the caller reports this one instead.
 */
export interface RemoteCallbackSet<C> {
  credentials: (url: string, usernameFromUrl: string, allowedTypes: number) => C | Promise<C> | Error;
  certificateCheck: (cert: { certType?: number } | undefined, valid: number, host: string) => number;
  lastError: () => Error | undefined;
}

/**
 * Produces the libgit2 remote callbacks for one remote operation (one connect or one fetch).
 *
 * libgit2 calls `credentials` again every time the server rejects what it got, forever; the returned set
 * keeps its own counter and answers with an `Error` after {@link MAX_CREDENTIAL_ATTEMPTS} calls, so a wrong
 * password fails the operation instead of looping. Build a fresh set for every operation.
 *
 * Choice of credential, by what the transport allows (`allowedTypes`):
 * 1. `USERNAME` (SSH asks for the user first): the user of the URL, else `creds.username`, else `git`.
 * 2. `SSH_MEMORY`/`SSH_KEY` with `creds.sshPrivateKey`: the key, for that same user.
 * 3. `USERPASS_PLAINTEXT` with a password: Basic auth; an empty user name becomes `x-access-token` as in
 *    Argo CD (GitHub and others ignore the user name of a token).
 * 4. Otherwise an `Error` saying the server wants credentials that are not configured.
 *
 * `certificateCheck` accepts anything with `creds.insecure`, accepts any SSH host key with
 * `creds.insecureIgnoreHostKey`, and otherwise defers to libgit2's verification.
 *
 * Error messages never contain the secret values nor the URL (the caller names the repository).
 *
 * @param creds - the credentials, or `undefined` for a public repository.
 * @param factory - builds the transport credential objects.
 */
export function credentialsCallback<C>(
  creds: RepoCredentials | undefined,
  factory: CredentialFactory<C>,
): RemoteCallbackSet<C> {
  let attempts = 0;
  let failure: Error | undefined;
  const fail = (message: string): Error => (failure = new Error(message));
  const c = creds ?? {};
  return {
    credentials(_url, usernameFromUrl, allowedTypes) {
      attempts += 1;
      if (attempts > MAX_CREDENTIAL_ATTEMPTS) {
        return fail(`authentication failed after ${MAX_CREDENTIAL_ATTEMPTS} attempts (wrong credentials?)`);
      }
      const user = usernameFromUrl || c.username || 'git';
      if (allowedTypes & CredentialType.USERNAME) return factory.username(user);
      const sshAllowed = allowedTypes & (CredentialType.SSH_MEMORY | CredentialType.SSH_KEY);
      if (sshAllowed && c.sshPrivateKey) return factory.sshKeyMemory(user, c.sshPrivateKey);
      if (allowedTypes & CredentialType.USERPASS_PLAINTEXT && c.password) {
        return factory.userpass(c.username || usernameFromUrl || 'x-access-token', c.password);
      }
      return fail(
        `the server requires credentials that are not configured (${describeAllowed(allowedTypes)})`,
      );
    },
    lastError: () => failure,
    certificateCheck(cert, valid) {
      if (c.insecure) return 0;
      if (c.insecureIgnoreHostKey && cert?.certType === CERT_HOSTKEY_LIBSSH2) return 0;
      // 1 = "no opinion": libgit2 keeps its own verdict (valid or not).
      return valid ? 0 : 1;
    },
  };
}

/** Names the credential kinds a server accepts, for an error message. */
function describeAllowed(allowedTypes: number): string {
  const names: string[] = [];
  if (allowedTypes & CredentialType.USERPASS_PLAINTEXT) names.push('username/password');
  if (allowedTypes & (CredentialType.SSH_KEY | CredentialType.SSH_MEMORY)) names.push('SSH private key');
  return names.length ? `accepts: ${names.join(', ')}` : `allowed credential types ${allowedTypes}`;
}

/**
 * Picks the credentials for a repository URL with Argo CD's rules:
 *
 * 1. A `repository` secret whose URL is the same repository wins (compared after
 *    {@link normalizeRepoURL}: case, trailing `.git` and `/`, scp-like SSH form).
 * 2. Otherwise the `repo-creds` secret whose normalised URL is the longest string prefix of the normalised
 *    repository URL. As in Argo CD the prefix is a plain string prefix: `https://github.com/org` also matches
 *    `https://github.com/org-other/x`; end a template URL with `/` to stop at a path boundary.
 * 3. A `repository` secret that matches but holds no credential (e.g. only `insecure`) inherits the
 *    credentials of the best `repo-creds` match, its own fields winning (Argo CD's `enrichCredsToRepo`).
 *
 * @returns the credentials, or `undefined` when no secret applies (a public repository).
 */
export function matchRepoCredentials(
  repoURL: string,
  secrets: ReadonlyArray<RepoCredentialSecret>,
): RepoCredentials | undefined {
  const repo = normalizeRepoURL(repoURL);
  const exact = secrets.find((s) => s.type === 'repository' && normalizeRepoURL(s.url) === repo);
  if (exact && hasCredential(exact.creds)) return exact.creds;
  const template = longestPrefixMatch(repo, secrets);
  if (exact) return template ? { ...template.creds, ...definedFields(exact.creds) } : exact.creds;
  return template?.creds;
}

/** The `repo-creds` secret whose URL is the longest prefix of `repo` (already normalised). */
function longestPrefixMatch(
  repo: string,
  secrets: ReadonlyArray<RepoCredentialSecret>,
): RepoCredentialSecret | undefined {
  let best: RepoCredentialSecret | undefined;
  let bestLength = -1;
  for (const s of secrets) {
    if (s.type !== 'repo-creds') continue;
    // The template keeps a trailing `/` so that `https://host/org/` stops at the path boundary.
    const prefix = normalizeRepoURL(s.url, { keepTrailingSlash: true });
    if (!prefix) continue;
    const matches = repo.startsWith(prefix) || repo === prefix.replace(/\/+$/, '');
    if (matches && prefix.length > bestLength) {
      best = s;
      bestLength = prefix.length;
    }
  }
  return best;
}

/** True when the secret holds something to authenticate with (Argo CD's `HasCredentials`). */
function hasCredential(c: RepoCredentials): boolean {
  return Boolean(c.username || c.password || c.sshPrivateKey || c.tlsClientCertData);
}

/** The fields of `c` that are set, so a spread does not overwrite inherited values with `undefined`. */
function definedFields(c: RepoCredentials): RepoCredentials {
  return Object.fromEntries(
    Object.entries(c).filter(([, v]) => v !== undefined && v !== ''),
  ) as RepoCredentials;
}

/**
 * Normalises a repository URL for comparison, like Argo CD's `NormalizeGitURL`: trimmed, lower-cased,
 * scp-like `git@host:path` rewritten to `git@host/path`, a leading `ssh://` dropped, and a trailing `.git`
 * and trailing `/` removed (the `/` is kept with `keepTrailingSlash`, for prefix templates).
 * Returns `''` for an empty URL.
 */
export function normalizeRepoURL(url: string, opts: { keepTrailingSlash?: boolean } = {}): string {
  let u = url.trim().toLowerCase();
  if (!u) return '';
  if (isScpLike(u)) u = u.replace(':', '/');
  u = u.replace(/^ssh:\/\//, '');
  const trailingSlash = /\/$/.test(u);
  u = u.replace(/\/+$/, '').replace(/\.git$/, '');
  return opts.keepTrailingSlash && trailingSlash ? u + '/' : u;
}

/** True for scp-like SSH addresses such as `git@github.com:org/repo.git` (no scheme, `user@host:path`). */
export function isScpLike(url: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && /^[^/:@]+@[^/:]+:/.test(url);
}

/** A URL scheme (`https://`, `ssh://`, `git+ssh://`) where a URL starts inside a text. */
const SCHEME = /[a-z][a-z0-9+.-]*:\/\//gi;
/** Characters that end a URL inside a text (whitespace, quotes, angle brackets). */
const URL_END = /[\s"'<>`]/;
/** A host (name with a dot, `name:port`, `localhost`, `[v6]`) at the start of what follows an `@`. */
const HOST_LIKE = /^(?:\[[0-9a-f:.]+\]|[a-z0-9-]+(?:\.[a-z0-9-]+)+|[a-z0-9.-]+:\d+|localhost)(?:[/:?#]|$)/i;

/**
 * True when an authority without `@` is `user:password` cut short, rather than `host` or `host:port`:
 * a password with a `/`, `?`, `#` or space ends the authority early (`https://user:pa/ss@host`).
 */
function looksLikeUserPassword(authority: string): boolean {
  const colon = authority.indexOf(':');
  return colon > 0 && !authority.startsWith('[') && !/^\d*$/.test(authority.slice(colon + 1));
}

/**
 * Where the userinfo of the URL whose authority starts at `start` ends (just past its last `@`), or
 * -1 when it has none. The WHATWG URL parser (and Node's HTTP clients) end the authority at the first
 * `/`, `?` or `#` and take its last `@` as the end of the userinfo; a password with an unencoded `/`
 * (`https://user:p@ss/w@rd@host/repo`) would then show `w@rd`. So once there is evidence of userinfo
 * (an `@` in that authority, or a `user:password` cut short), the whole userinfo runs to the LAST `@`
 * of the URL, even past a `/`. A URL that merely has an `@` in its path (`https://host/a@b`) keeps it,
 * unless what follows the `@` looks like a host (a user name with a `/`).
 */
function userinfoEnd(text: string, start: number): number {
  let end = start;
  while (end < text.length && !URL_END.test(text[end])) end++;
  const token = text.slice(start, end);
  const authEnd = token.search(/[/?#]/);
  const authority = authEnd < 0 ? token : token.slice(0, authEnd);
  const lastAt = token.lastIndexOf('@');
  if (lastAt >= 0) {
    const evident = authority.includes('@') || looksLikeUserPassword(authority);
    return evident || HOST_LIKE.test(token.slice(lastAt + 1)) ? start + lastAt + 1 : -1;
  }
  if (authEnd >= 0 || !looksLikeUserPassword(authority)) return -1;
  // `https://user:pass word@host`: a password with a space; its end is the next `@` of the line.
  const rest = /^[^/@\n]*@/.exec(text.slice(end));
  return rest ? end + rest[0].length : -1;
}

/** Drops the userinfo of every URL in a text (see {@link userinfoEnd}). */
function redactInText(text: string): string {
  let out = '';
  let pos = 0;
  for (const m of text.matchAll(SCHEME)) {
    const start = m.index + m[0].length;
    if (start <= pos) continue; // inside a userinfo that was dropped
    const cut = userinfoEnd(text, start);
    out += text.slice(pos, start);
    pos = cut >= 0 ? cut : start;
  }
  return out + text.slice(pos);
}

/**
 * Removes the userinfo (`user:password@`, `token@`) of every URL inside a text (a URL, an error message
 * from libgit2, a log line) so that credentials never reach a log line, an event or a condition. The
 * userinfo is dropped whole, up to the LAST `@` before the host, so that passwords with unencoded `@`,
 * `/`, `:`, `?`, `#` or spaces do not leak in part (`https://user:p@ss/w@rd@host/repo` becomes
 * `https://host/repo`). scp-like `git@host:path` keeps its user (it has no scheme, and `git` is not a
 * secret); `ssh://git@host/x` loses it like any userinfo.
 *
 * When the text is one URL, the result is checked with the WHATWG URL parser (as Node parses URLs):
 * should it still carry a user or password there, they are removed with it.
 *
 * Limits: a URL is recognised by its scheme; a user name containing `/` without a password is found
 * only when a host-like name (`a.b`, `name:port`) follows its `@`; where a URL has credentials AND an
 * `@` in its path, the path before that `@` is dropped too (over-redaction, never a leak).
 * @param text - any text.
 * @returns the text without userinfo.
 */
export function redactURL(text: string): string {
  const out = redactInText(text);
  if (/\s/.test(out.trim()) || !URL.canParse(out.trim())) return out;
  const url = new URL(out.trim());
  if (!url.username && !url.password) return out;
  url.username = '';
  url.password = '';
  return url.href;
}

/**
 * A repository URL without its userinfo, with the WHATWG parser's semantics (the userinfo ends at the
 * last `@` before the first `/`, `?` or `#`) and no other change: a key under which the same
 * repository is found whatever credentials its URL carries, and under which two different repositories
 * never meet (unlike {@link redactURL}, which may drop more for display). scp-like URLs are unchanged.
 */
export function withoutUserinfo(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!m) return url;
  const at = m[2].lastIndexOf('@');
  return at < 0 ? url : m[1] + m[2].slice(at + 1) + m[3];
}
