/**
 * A smart-HTTP git server with Basic auth: `git http-backend` run as a CGI per request behind a small
 * Node HTTP server on 127.0.0.1, so that credentials through nodegit are exercised for real (unit
 * tests of the git source and end-to-end tests of repository Secrets).
 */
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';

/** A running smart-HTTP git server. */
export interface HttpGitServer {
  /** `http://127.0.0.1:<port>`; a repository's URL is `<baseUrl>/<name>.git`. */
  baseUrl: string;
  /** Requests served so far, authorised or not. */
  requests(): number;
  stop(): Promise<void>;
}

/** Options of {@link startHttpGit}. */
export interface HttpGitOptions {
  /** Directory of bare repositories served (the backend's GIT_PROJECT_ROOT). */
  root: string;
  username: string;
  password: string;
  /** HOME of the backend (default: `root`), so no user git configuration leaks in. */
  home?: string;
}

/** Starts the server on a free loopback port. */
export async function startHttpGit(opts: HttpGitOptions): Promise<HttpGitServer> {
  const backend = path.join(
    execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(),
    'git-http-backend',
  );
  const expected = 'Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn(backend, [], {
      env: {
        PATH: process.env.PATH,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        HOME: opts.home ?? opts.root,
        GIT_PROJECT_ROOT: opts.root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: opts.username,
      },
    });
    req.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
    cgi.on('close', () => {
      const out = Buffer.concat(chunks);
      const split = out.indexOf('\r\n\r\n');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of out.subarray(0, split).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const [k, v] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
        if (k.toLowerCase() === 'status') status = parseInt(v, 10);
        else if (k) headers[k] = v;
      }
      res.writeHead(status, headers).end(out.subarray(split + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests: () => requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
