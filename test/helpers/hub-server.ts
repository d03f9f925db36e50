/**
 * A local stand-in for the Hugging Face Hub that serves one folder as a model
 * repository, in the hub's URL layout and with the headers it sends:
 *   GET /api/models/{repo}/revision/{rev}    model info with the commit (sha) and the file names (siblings)
 *   GET /api/models/{repo}/tree/{rev}        the file listing: size, git oid, and lfs {oid: sha256, size} for .onnx files
 *   GET /{repo}/resolve/{rev}/{path}         the file: ETag (X-Linked-Etag for LFS), X-Repo-Commit,
 *                                            Content-Length, Accept-Ranges; a Range request gets 206
 * A real node:http server on 127.0.0.1. It can require a token, break off a
 * file half way, or send a damaged copy, a given number of times; it logs
 * every request.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface HubRequest {
  method: string;
  path: string;
  range: string | null;
  authorization: string | null;
}

export interface HubServerOptions {
  /** Every request must carry `Authorization: Bearer {token}` (else 401). */
  token?: string;
}

interface RepoFile {
  path: string;
  bytes: Buffer;
  sha256: string;
  gitOid: string;
  lfs: boolean;
}

function listFolder(dir: string, prefix = ''): RepoFile[] {
  const out: RepoFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = `${prefix}${name}`;
    if (statSync(full).isDirectory()) out.push(...listFolder(full, `${rel}/`));
    else {
      const bytes = readFileSync(full);
      const lfs = /\.onnx(_data.*)?$/.test(name);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      // an LFS file's git object is its pointer file; a small file's is itself
      const gitBody = lfs ? Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${bytes.length}\n`) : bytes;
      const gitOid = createHash('sha1').update(`blob ${gitBody.length}\0`).update(gitBody).digest('hex');
      out.push({ path: rel, bytes, sha256, gitOid, lfs });
    }
  }
  return out;
}

export class HubServer {
  readonly requests: HubRequest[] = [];
  readonly files: RepoFile[];
  readonly commit: string;
  /** Paths whose next N GETs break off half way (the connection is destroyed). */
  readonly cuts = new Map<string, number>();
  /** Paths whose next N GETs send the file with one byte changed. */
  readonly corruptions = new Map<string, number>();
  /** Answer Range requests with the whole file (200), as some mirrors and proxies do. */
  ignoreRange = false;
  private server: Server | null = null;
  url = '';

  constructor(readonly repo: string, folder: string, private readonly options: HubServerOptions = {}) {
    this.files = listFolder(folder);
    this.commit = createHash('sha1').update(this.files.map((f) => `${f.path}:${f.sha256}`).join('\n')).digest('hex');
  }

  file(path: string): RepoFile {
    const f = this.files.find((x) => x.path === path);
    if (!f) throw new Error(`no ${path} in the served folder`);
    return f;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  /** GETs of one resolve path, in order. */
  gets(path: string): HubRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/resolve/${this.commit}/${path}`));
  }

  private knownRevision(rev: string): boolean {
    return rev === 'main' || rev === this.commit;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    this.requests.push({ method: req.method ?? '', path, range: req.headers.range ?? null, authorization: req.headers.authorization ?? null });
    if (this.options.token && req.headers.authorization !== `Bearer ${this.options.token}`) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'X-Error-Code': 'GatedRepo' }).end(JSON.stringify({ error: 'Access to this model is restricted: you must be authenticated' }));
      return;
    }
    const notFound = (code: string): void => void res.writeHead(404, { 'Content-Type': 'application/json', 'X-Error-Code': code }).end(JSON.stringify({ error: code }));
    const api = `/api/models/${this.repo}/`;
    if (path.startsWith(api)) {
      const [kind, rev] = path.slice(api.length).split('/');
      if (!this.knownRevision(rev)) return notFound('RevisionNotFound');
      if (kind === 'revision') {
        const info = { _id: 'x', id: this.repo, sha: this.commit, private: false, gated: false, downloads: 0, likes: 0, lastModified: '2026-12-01T00:00:00.000Z', pipeline_tag: 'text-to-audio', siblings: this.files.map((f) => ({ rfilename: f.path })) };
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(info));
        return;
      }
      if (kind === 'tree') {
        const dirs = [...new Set(this.files.filter((f) => f.path.includes('/')).map((f) => f.path.slice(0, f.path.lastIndexOf('/'))))];
        const listing = [
          ...dirs.map((d) => ({ type: 'directory', oid: '0'.repeat(40), size: 0, path: d })),
          ...this.files.map((f) => ({ type: 'file', oid: f.gitOid, size: f.bytes.length, path: f.path, ...(f.lfs ? { lfs: { oid: f.sha256, size: f.bytes.length, pointerSize: 134 } } : {}) })),
        ];
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(listing));
        return;
      }
      return notFound('EntryNotFound');
    }
    const resolve = `/${this.repo}/resolve/`;
    if (!path.startsWith(resolve)) return notFound('RepoNotFound');
    const rest = path.slice(resolve.length);
    const rev = rest.slice(0, rest.indexOf('/'));
    if (!this.knownRevision(rev)) return notFound('RevisionNotFound');
    const file = this.files.find((f) => f.path === rest.slice(rev.length + 1));
    if (!file) return notFound('EntryNotFound');
    this.sendFile(req, res, file);
  }

  private sendFile(req: IncomingMessage, res: ServerResponse, file: RepoFile): void {
    let body = file.bytes;
    const corrupt = this.corruptions.get(file.path) ?? 0;
    if (corrupt > 0 && req.method === 'GET') {
      this.corruptions.set(file.path, corrupt - 1);
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    const headers: Record<string, string | number> = {
      ETag: `"${file.lfs ? file.sha256 : file.gitOid}"`,
      'X-Repo-Commit': this.commit,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      ...(file.lfs ? { 'X-Linked-Etag': `"${file.sha256}"`, 'X-Linked-Size': file.bytes.length } : {}),
    };
    let status = 200;
    const m = this.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
      if (start >= body.length) {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      headers['Content-Range'] = `bytes ${start}-${end}/${body.length}`;
      body = body.subarray(start, end + 1);
      status = 206;
    }
    headers['Content-Length'] = body.length;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = this.cuts.get(file.path) ?? 0;
    if (cut > 0) {
      this.cuts.set(file.path, cut - 1);
      // half of what was promised, then the connection drops, as a lost network does
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
