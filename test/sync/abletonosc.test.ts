/**
 * AbletonOSC as a time source, against a stand-in for Live on loopback UDP:
 * the source asks for the beat, tempo and play-state listeners; Live's beat
 * messages at 120 BPM start the transport at the beat they name, give the
 * phase (when the DAW is at a beat, to within the messages' spread), a jump
 * restarts at the new beat, is_playing 0 stops; junk is counted.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { IssueLog } from '../../src/control/issues.js';
import { OSC, parsePacket } from '../../src/control/osc-source.js';
import { openAbletonOscSource } from '../../src/sync/abletonosc-source.js';
import type { TransportEvent } from '../../src/sync/time-source.js';
import { freePort } from '../helpers/live.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AbletonOSC time source', () => {
  it('follows Live: listeners asked, start at the named beat, phase, tempo, a jump, stop; junk counted', async () => {
    const live = dgram.createSocket('udp4');
    const asked: string[] = [];
    live.on('message', (d) => asked.push(...parsePacket(d).map((m) => m.address)));
    await new Promise<void>((r) => live.bind(0, '127.0.0.1', () => r()));
    const replyPort = await freePort();
    const issues = new IssueLog();
    const source = await openAbletonOscSource({ port: live.address().port, replyPort, issues });
    const events: TransportEvent[] = [];
    const tempos: number[] = [];
    source.transport$.subscribe((e) => events.push(e));
    source.tempo$.subscribe((t) => tempos.push(t));
    const tell = (address: string, ...args: number[]) => live.send(Buffer.from(new OSC.Message(address, ...args).pack()), replyPort, '127.0.0.1');
    try {
      await sleep(100);
      expect(asked).toEqual(expect.arrayContaining(['/live/song/start_listen/beat', '/live/song/start_listen/tempo', '/live/song/start_listen/is_playing', '/live/song/get/tempo']));
      tell('/live/song/get/tempo', 120);
      // beats 8..13 at 120 BPM, each sent on a schedule (beat n due at origin + (n - 8) * 500 ms)
      const origin = performance.now() + 50;
      for (let n = 8; n < 14; n++) {
        await sleep(origin + (n - 8) * 500 - performance.now());
        tell('/live/song/get/beat', n);
      }
      await sleep(50);
      expect(tempos).toEqual([120]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'start', beats: 8 });
      // the phase: when the DAW is at beat 16 (not yet), from the line through the beats; loopback and timers: a few ms
      expect(Math.abs(source.timeOf(16)! - (origin + 8 * 500))).toBeLessThan(10);
      tell('/live/song/get/beat', 32); // a locate while playing
      tell('/live/song/get/beat', -1);
      tell('/live/song/get/is_playing', 0);
      await sleep(100);
      expect(events.slice(1).map((e) => (e.type === 'start' ? `start ${e.beats}` : e.type))).toEqual(['start 32', 'stop']);
      expect(source.timeOf(33)).toBeNull();
      expect(issues.count('sync', 'abletonosc-bad-message')).toBe(1);
    } finally {
      source.close();
      await sleep(100);
      live.close();
    }
    expect(asked).toContain('/live/song/stop_listen/beat');
  });
});
