import { describe, expect, it } from 'vitest';
import { printable, quoted } from '../../src/util/printable.js';

describe('printable', () => {
  it('leaves ordinary text alone, accents and emoji included', () => {
    expect(printable('funk happy é 🎹')).toBe('funk happy é 🎹');
  });

  it('escapes C0, DEL, C1 and the bidi overrides that reorder what a reader sees', () => {
    expect(printable('a\x1b]0;t\x07b\x1b[2J\x7f\x9b\u202e\u2066\n\t')).toBe('a\\x1b]0;t\\x07b\\x1b[2J\\x7f\\x9b\\u202e\\u2066\\n\\t');
  });

  it('cuts long text before escaping and says how much was left out', () => {
    const cut = printable('y'.repeat(60_000));
    expect(cut).toBe(`${'y'.repeat(80)}...(+59920 chars)`);
    // an escape is never cut in half: the cut is on the original characters
    expect(printable('\x01'.repeat(100), 3)).toBe('\\x01\\x01\\x01...(+97 chars)');
  });

  it('quoted wraps in double quotes and escapes the quotes inside', () => {
    expect(quoted('say "hi"\x1b')).toBe('"say \\"hi\\"\\x1b"');
  });
});
