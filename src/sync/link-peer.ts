/**
 * The Link peer, a child process of the session (link-source.ts starts it
 * with `fork`): it joins the Link session through the `abletonlink` binding,
 * posts snapshots of the timeline, and sets the session's tempo when asked.
 *
 * Why a process of its own: the binding starts a native thread that is never
 * joined, so a process that loaded it aborts on exit ("terminate called
 * without an active exception", exit 134); and a fault in native code here
 * must not take the audio with it. Arguments: the starting tempo, and
 * "start-stop" to share the transport.
 */
import { createRequire } from 'node:module';
import { LINK_PACKAGE, LINK_QUANTUM, pollLink, type LinkBindingClass } from './link-binding.js';

/** How often the timeline is posted: a peer's tempo change or start is seen at most this late. */
const POLL_MS = 10;

const send = (message: unknown) => process.send?.(message);

let AbletonLink: LinkBindingClass;
try {
  AbletonLink = createRequire(import.meta.url)(LINK_PACKAGE) as LinkBindingClass;
} catch (err) {
  send({ type: 'unavailable', message: (err as Error).message.split('\n')[0] });
  process.disconnect?.();
  process.exit(0);
}

const bpm = Number(process.argv[2]);
const link = new AbletonLink(Number.isFinite(bpm) ? bpm : 120, LINK_QUANTUM, true);
if (process.argv[3] === 'start-stop') link.enablePlayStateSync();
pollLink(link, (s) => send({ type: 'state', ...s }), POLL_MS);

process.on('message', (m: { type?: string; bpm?: unknown }) => {
  if (m?.type === 'tempo' && typeof m.bpm === 'number' && Number.isFinite(m.bpm)) link.bpm = m.bpm;
});
// The session closed or died: leave the Link session (the others see one peer fewer at once), then go. SIGKILL, not
// exit: exit runs the binding's static destructors, which abort and may write a core file.
process.on('disconnect', () => {
  link.disable();
  // Link's own thread sends the goodbye
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 50);
});
