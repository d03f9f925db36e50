// A second Link peer for test/sync/link.test.ts, a plain node script on the binding: joins at argv[2] BPM, sets
// the session's tempo to argv[3] argv[4] ms after it first sees a peer, and prints its timeline every 10 ms as
// JSON lines (t: process.hrtime ms, the clock Link reads). Run it inside a network namespace with only loopback.
const AbletonLink = require('abletonlink');

const [bpm, setTo, afterMs] = process.argv.slice(2).map(Number);
const link = new AbletonLink(bpm, 4, true);
let seenAt = null;
let set = false;
setInterval(() => {
  link.update();
  const t = Number(process.hrtime.bigint()) / 1e6;
  if (seenAt === null && link.numPeers > 0) seenAt = t;
  if (!set && seenAt !== null && t - seenAt >= afterMs) {
    link.bpm = setTo;
    set = true;
    link.update();
    console.log(JSON.stringify({ type: 'set', t, bpm: setTo }));
  }
  console.log(JSON.stringify({ type: 'peer', t, beat: link.beat, phase: link.phase, bpm: link.bpm, peers: link.numPeers }));
}, 10);
// the binding aborts on a normal exit (a native thread never joined): the test ends this process with SIGKILL
// and ends itself if the test died first
setTimeout(() => process.kill(process.pid, 'SIGKILL'), 120_000);
