/**
 * Text that came from outside (an OSC prompt, an address, a feature name, a
 * file name in a preset) is shown on a performer's terminal. Raw, an
 * `ESC ]0;...` retitles the window and `ESC [2J` wipes the status view; a
 * 60 KB address buries everything. So every such string goes through
 * `printable` before it is printed or logged: control characters (C0, DEL,
 * C1) and the bidirectional overrides that reorder what a reader sees become
 * visible escapes, and the text is cut to a length that fits a line.
 */

/** How much of an outside string a message shows by default. */
export const PRINTABLE_MAX = 80;

// C0 controls, DEL, C1 controls, and the Unicode bidi embeddings/overrides/isolates (U+202A..202E, U+2066..2069)
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` made safe for a terminal: control characters escaped (`\x1b`), at
 * most `max` characters of the original kept, and the cut said
 * (`...(+59920 chars)`), so a reader knows the value was longer.
 */
export function printable(text: string, max = PRINTABLE_MAX): string {
  const s = String(text);
  // cut before escaping: the limit is about the outside input, and a cut escape would be misleading
  const kept = s.length > max ? s.slice(0, max) : s;
  const safe = kept.replace(UNSAFE, escapeChar);
  return s.length > max ? `${safe}...(+${s.length - max} chars)` : safe;
}

/** `printable`, in double quotes: for values inside a sentence. */
export function quoted(text: string, max = PRINTABLE_MAX): string {
  return `"${printable(text, max).replace(/"/g, '\\"')}"`;
}
