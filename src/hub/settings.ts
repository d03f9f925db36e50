/**
 * Where the hub and its cache are, read from the environment variables that
 * huggingface_hub (Python) reads, so both tools share one cache and one login.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getHFHubCachePath } from '@huggingface/hub';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** The hub's base URL: HF_ENDPOINT, or huggingface.co. */
  endpoint: string;
  /** The cache folder: HF_HUB_CACHE, or HF_HOME/hub, or ~/.cache/huggingface/hub. */
  cacheDir: string;
  /** HF_TOKEN, or the token huggingface-cli login saved (HF_TOKEN_PATH, HF_HOME/token); null: anonymous. */
  token: string | null;
  /** HF_HUB_OFFLINE=1: the network is not used, only the cache. */
  offline: boolean;
}

const TRUE = new Set(['1', 'on', 'yes', 'true']);

function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
}

function savedToken(env: NodeJS.ProcessEnv): string | null {
  const file = env.HF_TOKEN_PATH ?? join(hfHome(env), 'token');
  if (!existsSync(file)) return null;
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Read at each call: a test (or a long session) may change the environment. */
export function hubSettings(): HubSettings {
  const env = process.env;
  return {
    endpoint: (env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    // the library reads HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME and XDG_CACHE_HOME in huggingface_hub's order
    cacheDir: getHFHubCachePath(),
    token: env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim() || savedToken(env),
    offline: TRUE.has((env.HF_HUB_OFFLINE ?? '').toLowerCase()),
  };
}
