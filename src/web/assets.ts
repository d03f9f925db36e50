/**
 * The page's files, read once at start into memory and served by exact URL:
 * nothing from the network names a file, and a request costs no disk read.
 * The page has no build step; osc-js's own browser bundle encodes and
 * decodes OSC in the page, so both ends speak the one protocol through the
 * same library.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

export interface Asset {
  type: string;
  body: Buffer;
}

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** URL path -> file contents and type. Throws (naming the file) when one cannot be read: the install is broken. */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const page = join(packageRoot(), 'src', 'web', 'page');
  const read = (url: string, file: string, type: string) => {
    try {
      assets.set(url, { type, body: readFileSync(file) });
    } catch (err) {
      throw new Error(`web surface: the page's file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); reinstall, or play without the page: --no-web`);
    }
  };
  for (const [url, { file, type }] of Object.entries(PAGE_FILES)) read(url, join(page, file), type);
  read('/osc.js', createRequire(import.meta.url).resolve('osc-js/lib/osc.min.js'), 'text/javascript; charset=utf-8');
  return assets;
}
