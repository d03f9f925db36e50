// smitin-live performance page.
// One WebSocket to the server; every frame both ways is one binary OSC packet (a message or a bundle).
// The server is the truth: the page shows what it reports and only ever sends commands. Plain ES module,
// no build step; `OSC` is the global that osc-js's browser bundle (/osc.js) defines.
/* global OSC */

const HOLD_MS = 1000;          // a control the user touched ignores the server until this long after the last input
const PRESS_AND_HOLD_MS = 400; // stop / stop-recording fire only after a press this long (a brush does nothing)
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;
const STEP = 0.05;
const PAGE_STEP = 0.25;
const DETENT = 0.03;           // a drag this close to 0 lands on 0, so the centre can be found by feel
const NO_FEATURES = 'This model has no steerable features (started without probes)';

// ---------- small helpers ----------

const $ = (id) => document.getElementById(id);
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const round2 = (v) => Math.round(v * 100) / 100;
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
const str = (v) => (typeof v === 'string' ? v : '');
const f32 = (value) => ({ type: 'f', value });
const s = (value) => ({ type: 's', value });
const i32 = (value) => ({ type: 'i', value });

/** Creates an element; text goes in through textContent only (server strings are never parsed as HTML). */
function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Writes only on change: telemetry arrives 10 times a second and most of it repeats. */
function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function fmtStrength(v) {
  const r = round2(v);
  if (r === 0) return '0.00';
  return (r > 0 ? '+' : '\u2212') + Math.abs(r).toFixed(2);
}

function fmtTime(sec) {
  const t = Math.max(0, Math.floor(num(sec) || 0));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Words as the page compares them with the model's vocabulary: lower case, split at anything not a letter or digit. */
function words(text) {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

// ---------- state ----------

const state = {
  connected: false,
  everOpen: false,
  features: null,              // names, in the server's order; null until the server has said
  feat: new Map(),             // name -> per-feature record, see feature()
  knownWords: null,            // Set of words, or null: flag nothing
  learning: '',
  playing: false,
  recording: false,
  loopBars: 4,                 // the loop button's length (--loop-bars)
  looping: 0,                  // bars looping now, 0 when the model generates
  lastTake: null,              // { name, sec } of the take that ended last, to show it was saved
  liveTake: null,              // { name, sec } of the take being recorded
  issues: new Map(),           // 'source/kind' -> count
  sentPrompt: '',
};

/** The record of one feature; it exists as soon as any message names it, faders or not. */
function feature(name) {
  let f = state.feat.get(name);
  if (!f) {
    f = { name, strength: NaN, monitor: NaN, gain: NaN, shown: 0, heldUntil: 0, dragging: false, timer: 0, ui: null };
    state.feat.set(name, f);
  }
  return f;
}

const isHeld = (f) => f.dragging || performance.now() < f.heldUntil;

// ---------- connection ----------

let ws = null;
let retryMs = RETRY_MIN_MS;
let retryTimer = 0;

function wsUrl() {
  const token = new URLSearchParams(location.search).get('token');
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${proto}://${location.host}/ws${token !== null ? `?token=${encodeURIComponent(token)}` : ''}`;
}

function connect() {
  retryTimer = 0;
  let sock;
  try {
    sock = new WebSocket(wsUrl());
  } catch {
    scheduleRetry();
    return;
  }
  sock.binaryType = 'arraybuffer';
  ws = sock;
  sock.onopen = () => {
    retryMs = RETRY_MIN_MS;
    setConnected(true);
  };
  sock.onmessage = (ev) => {
    if (ev.data instanceof ArrayBuffer) receive(ev.data);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    setConnected(false);
    scheduleRetry();
  };
  sock.onerror = () => {}; // a close follows every error; the banner reports it
}

/** Backoff doubles from 0.5 s to 5 s and never gives up: the engine may restart mid-gig. */
function scheduleRetry() {
  const wait = retryMs;
  retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
  setText($('banner-retry'), ` (next try in ${(wait / 1000).toFixed(1)} s)`);
  retryTimer = setTimeout(connect, wait);
}

/** A tablet coming back from sleep should not wait out the backoff. */
function retryNow() {
  if (state.connected || !retryTimer) return;
  clearTimeout(retryTimer);
  retryMs = RETRY_MIN_MS;
  connect();
}

function setConnected(open) {
  state.connected = open;
  document.body.classList.toggle('offline', !open);
  document.body.classList.toggle('lost', !open); // the banner: only after a close, not while first connecting
  const conn = $('connection');
  conn.dataset.state = open ? 'open' : 'closed';
  setText($('connection-text'), open ? 'connected' : 'reconnecting...');
  for (const c of document.querySelectorAll('main button, main select, main input')) {
    if (c.id !== 'prompt-input') c.disabled = !open; // typing a prompt may go on; sending waits
  }
  for (const fader of document.querySelectorAll('.fader')) fader.setAttribute('aria-disabled', String(!open));
  $('xy').setAttribute('aria-disabled', String(!open));
  pending.clear();
  endAllDrags();
  if (!open) clearLive();
  if (open) {
    // the snapshot that follows replaces everything the page knew
    state.everOpen = true;
    state.issues.clear();
    renderIssues();
    for (const f of state.feat.values()) Object.assign(f, { strength: NaN, monitor: NaN, gain: NaN, heldUntil: 0 });
  }
}

/** Without a connection the live readings are unknown: blank them rather than show frozen numbers as if live. */
function clearLive() {
  for (const f of state.feat.values()) {
    f.monitor = NaN;
    f.gain = NaN;
    renderMeter(f, 'monitor');
    renderMeter(f, 'gain');
    renderPaused(f);
  }
  setLearning(''); // unknown until the server says again
  $('transport-state').dataset.playing = '?';
  setText($('state-word'), 'offline');
  setText($('engine-time'), '-');
  document.body.classList.remove('playing');
  for (const id of ['stat-ring', 'stat-underruns', 'stat-latency', 'level-text']) setText($(id), '-');
  setText($('stat-realtime'), 'real time -');
  setDeficit(null); // the engine that comes back may have been started without --force; its first report says
  const level = $('level');
  delete level.dataset.value;
  level.style.setProperty('--v', '0');
}

function endAllDrags() {
  for (const f of state.feat.values()) f.dragging = false;
  xy.dragging = false;
}

/** Sends one OSC message now (numbers always as float32 'f': osc-js would send a whole number as 'i'). */
function send(address, ...args) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(new OSC.TypedMessage(address, args).pack());
  return true;
}

// Continuous controls: at most one message per address per animation frame, the latest value.
const pending = new Map();
let flushQueued = false;

function sendLatest(address, value) {
  pending.set(address, value);
  if (flushQueued) return;
  flushQueued = true;
  requestAnimationFrame(flush);
}

function flush() {
  flushQueued = false;
  for (const [address, value] of pending) send(address, f32(value));
  pending.clear();
}

// ---------- incoming messages ----------

function receive(buf) {
  let packet;
  try {
    packet = new OSC.Packet();
    packet.unpack(new DataView(buf));
  } catch {
    return; // a frame the page cannot read is dropped; the next telemetry report follows in 100 ms
  }
  const messages = [...flatten(packet.value)];
  for (const m of messages) handle(m.address, m.args);
  // the deficit is said by sending it: a report (one bundle per report, web-surface.ts) that carries the status
  // without it says there is none, e.g. after a reconnect to an engine started without --force
  if (messages.some((m) => m.address === '/smitin/status') && !messages.some((m) => m.address === '/smitin/deficit')) setDeficit(null);
}

function* flatten(p) {
  if (p && Array.isArray(p.bundleElements)) for (const e of p.bundleElements) yield* flatten(e);
  else if (p && typeof p.address === 'string') yield p;
}

const handlers = {
  '/smitin/features': (a) => setFeatures(a.filter((x) => typeof x === 'string' && x !== '')),
  '/smitin/known-words': ([w]) => setKnownWords(str(w)),
  '/smitin/preset-names': (a) => setPresetNames(a.filter((x) => typeof x === 'string')),
  '/smitin/learning': ([t]) => setLearning(str(t)),
  '/smitin/loop-bars': ([n]) => setLoop(state.looping, num(n)),
  '/smitin/looping': ([n]) => setLoop(num(n), state.loopBars),
  '/smitin/prompt-text': ([t]) => setPromptText(str(t)),
  '/smitin/status': (a) => setStatus(a.map(num)),
  '/smitin/deficit': ([multiple, gapMs, latencyMs, reason]) => setDeficit({ multiple: num(multiple), gapMs: num(gapMs), latencyMs: num(latencyMs), reason: str(reason) }),
  '/smitin/take': ([rec, name, sec]) => setTake(num(rec) >= 0.5 || rec === true, str(name), num(sec)),
  '/smitin/transport': ([playing, bpm, sec]) => setTransport(num(playing) >= 0.5 || playing === true, num(bpm), num(sec)),
  '/smitin/position': ([bar, beat]) => setPosition(num(bar), num(beat)),
  '/smitin/level': ([db]) => setLevel(num(db)),
  '/smitin/sampling': ([t, g]) => setSampling(num(t), num(g)),
  '/smitin/preset-name': ([n]) => setPresetName(str(n)),
  '/smitin/unknown-words': ([w]) => setPlayingUnknown(str(w)),
};

const prefixed = [
  ['/smitin/monitor/', (name, [v]) => setMeter(name, 'monitor', num(v))],
  ['/smitin/gain/', (name, [v]) => setMeter(name, 'gain', num(v))],
  ['/smitin/strength/', (name, [v]) => setServerStrength(name, num(v))],
  ['/smitin/range/', (name, [lo, hi]) => setRange(name, num(lo), num(hi))],
  ['/smitin/issues/', (kind, [n]) => setIssue(kind, num(n))],
  ['/smitin/effect/', (name, [direction, state, beats]) => setEffect(name, str(direction), str(state), num(beats))],
];

function handle(address, args) {
  try {
    const h = handlers[address];
    if (h) return h(args);
    for (const [prefix, fn] of prefixed) {
      if (address.startsWith(prefix) && address.length > prefix.length) return fn(address.slice(prefix.length), args);
    }
    // unknown addresses are future outputs: ignored
  } catch (err) {
    console.warn('smitin-live: could not apply', address, err);
  }
}

// ---------- faders ----------

const narrow = matchMedia('(max-width: 700px)'); // the same breakpoint as style.css: horizontal faders

function setFeatures(names) {
  const box = $('faders');
  if (state.features && names.join('\n') === state.features.join('\n')) return; // same list: keep the faders (and focus)
  state.features = names;
  box.replaceChildren(...names.map((name, i) => buildStrip(name, i)));
  const empty = $('features-empty');
  empty.hidden = names.length > 0;
  setText(empty, NO_FEATURES);
  for (const name of names) show(feature(name), feature(name).shown);
  buildXY();
}

function buildStrip(name, index) {
  const f = feature(name);
  const strip = el('div', { class: 'strip', 'data-strip': name });
  const head = el('div', { class: 'strip-head' });
  head.append(el('span', { class: 'strip-num', 'aria-hidden': 'true' }, index < 9 ? String(index + 1) : ''),
    el('span', { class: 'strip-name', title: name }, name));
  const value = el('div', { class: 'strip-value', 'aria-hidden': 'true' }, '0.00');

  const fader = el('div', {
    class: 'fader', role: 'slider', tabindex: '0', 'data-feature': name,
    'aria-label': `${name} strength, remove to add`, 'aria-valuemin': '-1', 'aria-valuemax': '1', 'aria-valuenow': '0',
    'aria-orientation': narrow.matches ? 'horizontal' : 'vertical', 'aria-disabled': String(!state.connected),
  });
  const rail = el('div', { class: 'rail' });
  rail.append(el('span', { class: 'groove' }), el('span', { class: 'fill' }), el('span', { class: 'centre' }),
    el('span', { class: 'end end-add' }, 'add'), el('span', { class: 'end end-remove' }, 'remove'),
    el('span', { class: 'engine', title: 'what the engine plays now' }), el('span', { class: 'thumb' }));
  fader.append(rail);

  const meters = ['monitor', 'gain'].map((kind) => {
    const wrap = el('div', { class: `meter-wrap meter-${kind}` });
    const meter = el('div', { class: 'meter', 'data-meter': kind, 'data-feature': name, role: 'meter',
      'aria-label': `${name} ${kind}`, 'aria-valuemin': '0', 'aria-valuemax': '1', 'aria-valuenow': '0',
      title: kind === 'monitor' ? 'monitor: how present the model finds it' : 'gain: how much of the push is applied' });
    meter.append(el('span', { class: 'meter-fill' }));
    wrap.append(meter, el('span', { class: 'meter-label', 'aria-hidden': 'true' }, kind === 'monitor' ? 'mon' : 'gain'));
    return wrap;
  });

  const paused = el('div', { class: 'paused', 'aria-live': 'polite' });
  const foot = el('div', { class: 'strip-foot' });
  const zero = el('button', { type: 'button', class: 'zero', 'data-zero': name, 'aria-label': `${name} back to 0` }, '0');
  const learn = el('button', { type: 'button', class: 'learn', 'data-learn': name, 'aria-pressed': 'false',
    'aria-label': `MIDI learn ${name}` }, 'learn');
  zero.disabled = learn.disabled = !state.connected;
  zero.addEventListener('click', () => userSet(f, 0));
  foot.append(zero, learn);

  const meterBox = el('div', { class: 'meters' }); // a plain grid part on desktop, one row on a phone
  meterBox.append(...meters);
  strip.append(head, value, fader, meterBox, paused, foot);
  f.ui = { strip, fader, value, paused, learn, monitor: meters[0].firstChild, gain: meters[1].firstChild };
  if (Number.isFinite(f.strength)) fader.style.setProperty('--e', ((clamp(f.strength, -1, 1) + 1) / 2).toFixed(4));
  attachFaderPointer(f);
  attachFaderKeys(f);
  renderMeter(f, 'monitor');
  renderMeter(f, 'gain');
  renderLearn(learn);
  return strip;
}

narrow.addEventListener('change', () => {
  for (const fader of document.querySelectorAll('.fader')) fader.setAttribute('aria-orientation', narrow.matches ? 'horizontal' : 'vertical');
});

/** Shows a value on the fader (the user's while held, else the server's) and everything that depends on it. */
function show(f, v) {
  f.shown = v;
  if (f.ui) {
    const { fader, value } = f.ui;
    const p = (v + 1) / 2;
    fader.style.setProperty('--p', p.toFixed(4));
    fader.style.setProperty('--lo', Math.min(p, 0.5).toFixed(4));
    fader.style.setProperty('--hi', Math.max(p, 0.5).toFixed(4));
    fader.setAttribute('aria-valuenow', String(round2(v)));
    fader.setAttribute('aria-valuetext', `${fmtStrength(v)}${v > 0.005 ? ' add' : v < -0.005 ? ' remove' : ' centre'}`);
    f.ui.strip.classList.toggle('neg', v < 0);
    f.ui.strip.classList.toggle('at-zero', Math.abs(v) < 0.005);
    setText(value, fmtStrength(v));
    renderPaused(f);
  }
  if (f.name === xy.x || f.name === xy.y) renderXYDot();
}

/** The user set a value: show it, hold it against the server for a second and send it (coalesced per frame). */
function userSet(f, v) {
  if (!state.connected) return;
  v = clamp(v, -1, 1);
  holdFor(f);
  show(f, v);
  sendLatest(`/smitin/feature/${f.name}`, v);
}

/** Holds the user's value until HOLD_MS after the last input, then follows the server again. */
function holdFor(f) {
  f.heldUntil = performance.now() + HOLD_MS;
  clearTimeout(f.timer);
  f.timer = setTimeout(() => {
    if (!isHeld(f) && Number.isFinite(f.strength)) show(f, f.strength);
  }, HOLD_MS + 20);
}

function setServerStrength(name, v) {
  if (!Number.isFinite(v)) return;
  const f = feature(name);
  f.strength = v;
  if (f.ui) f.ui.fader.style.setProperty('--e', ((clamp(v, -1, 1) + 1) / 2).toFixed(4));
  if (!isHeld(f)) show(f, v);
}

function setMeter(name, kind, v) {
  const f = feature(name);
  f[kind] = v;
  renderMeter(f, kind);
  if (kind === 'gain') renderPaused(f);
}

function renderMeter(f, kind) {
  const meter = f.ui?.[kind];
  if (!meter) return;
  const v = f[kind];
  if (Number.isFinite(v)) {
    const c = clamp(v, 0, 1);
    meter.dataset.value = c.toFixed(3);
    meter.setAttribute('aria-valuenow', c.toFixed(2));
    meter.style.setProperty('--v', c.toFixed(3));
  } else {
    delete meter.dataset.value; // absent before the first reading
    meter.style.setProperty('--v', '0');
  }
}

/** "gain 0" reads as "muted" to a musician; it means the feature is already there and the push waits. Otherwise: when the last move was heard. */
function renderPaused(f) {
  if (!f.ui) return;
  const paused = Math.abs(f.shown) >= 0.005 && Number.isFinite(f.gain) && f.gain <= 1e-4;
  setText(f.ui.paused, paused ? 'there, push paused' : f.effect ?? '');
  f.ui.strip.classList.toggle('is-paused', paused);
}

/** What the knob's last move did, as heard (tinyband): "in after 1.5 beats". */
function setEffect(name, direction, effectState, beats) {
  if (!effectState || !Number.isFinite(beats)) return;
  const f = feature(name);
  f.effect = effectState === 'heard' ? `${direction} after ${beats.toFixed(1)} beats` : effectState === 'none' ? `not ${direction} after 4 bars` : `${direction}: waiting ${beats.toFixed(1)} beats`;
  renderPaused(f);
}

/** Relative drag (grab anywhere, move): a tap never jumps the value, so a brush of the screen cannot knock it. */
function attachFaderPointer(f) {
  const fader = f.ui.fader;
  let drag = null;
  let lastTap = { t: 0, x: 0, y: 0 };
  fader.addEventListener('pointerdown', (e) => {
    if (!state.connected || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    fader.focus({ preventScroll: true });
    // double-tap for touch and pen (mouse has dblclick)
    const now = performance.now();
    if (e.pointerType !== 'mouse' && now - lastTap.t < 350 && Math.hypot(e.clientX - lastTap.x, e.clientY - lastTap.y) < 30) {
      lastTap.t = 0;
      userSet(f, 0);
      return;
    }
    fader.setPointerCapture(e.pointerId);
    drag = { id: e.pointerId, x: e.clientX, y: e.clientY, x0: e.clientX, y0: e.clientY, t0: now, raw: f.shown };
    f.dragging = true;
    f.ui.strip.classList.add('active');
  });
  fader.addEventListener('pointermove', (e) => {
    if (!drag || e.pointerId !== drag.id || !state.connected) return;
    const rail = fader.firstChild.getBoundingClientRect();
    const vertical = rail.height >= rail.width;
    const span = Math.max(1, vertical ? rail.height : rail.width);
    const delta = vertical ? drag.y - e.clientY : e.clientX - drag.x;
    drag.x = e.clientX;
    drag.y = e.clientY;
    // the full travel is the full range; Shift moves four times finer
    drag.raw = clamp(drag.raw + (delta / span) * 2 * (e.shiftKey ? 0.25 : 1), -1, 1);
    userSet(f, Math.abs(drag.raw) < DETENT ? 0 : drag.raw);
  });
  const end = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const tap = performance.now() - drag.t0 < 300 && Math.hypot(e.clientX - drag.x0, e.clientY - drag.y0) < 8;
    lastTap = tap ? { t: performance.now(), x: e.clientX, y: e.clientY } : { t: 0, x: 0, y: 0 };
    drag = null;
    f.dragging = false;
    f.ui.strip.classList.remove('active');
    holdFor(f);
  };
  fader.addEventListener('pointerup', end);
  fader.addEventListener('pointercancel', end);
  fader.addEventListener('lostpointercapture', end);
  fader.addEventListener('dblclick', () => userSet(f, 0));
}

function attachFaderKeys(f) {
  f.ui.fader.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const v = f.shown;
    const next = {
      ArrowUp: v + STEP, ArrowRight: v + STEP, ArrowDown: v - STEP, ArrowLeft: v - STEP,
      PageUp: v + PAGE_STEP, PageDown: v - PAGE_STEP, Home: -1, End: 1, 0: 0, Delete: 0, Backspace: 0,
    }[e.key];
    if (next === undefined) return;
    e.preventDefault(); // also tells the page-wide shortcuts that this key was used
    userSet(f, round2(clamp(next, -1, 1)));
  });
}

// ---------- MIDI learn ----------

function setLearning(target) {
  state.learning = target;
  for (const b of document.querySelectorAll('[data-learn]')) renderLearn(b);
  const line = $('learning');
  line.hidden = !target;
  setText(line, target ? `learn ${target}: move a MIDI control` : '');
}

function renderLearn(b) {
  const armed = state.learning !== '' && b.dataset.learn === state.learning;
  b.classList.toggle('armed', armed);
  b.setAttribute('aria-pressed', String(armed));
}

// One listener for every learn button, the ones built later included. Pressing the armed one again cancels.
document.addEventListener('click', (e) => {
  const b = e.target instanceof Element ? e.target.closest('[data-learn]') : null;
  if (!b || b.disabled) return;
  send('/smitin/learn', s(state.learning === b.dataset.learn ? '' : b.dataset.learn));
});

// ---------- prompt ----------

const promptInput = $('prompt-input');

function setKnownWords(list) {
  const ws_ = words(list);
  state.knownWords = ws_.length ? new Set(ws_) : null;
  const chips = $('chips');
  chips.replaceChildren(...[...new Set(list.split(/\s+/).filter(Boolean))].map((w) =>
    el('button', { type: 'button', class: 'chip', 'data-word': w, tabindex: '-1' }, w)));
  chips.hidden = !state.knownWords;
  renderPromptUnknown();
}

$('chips').addEventListener('click', (e) => {
  const chip = e.target instanceof Element ? e.target.closest('.chip') : null;
  if (!chip) return;
  const text = promptInput.value.replace(/\s+$/, '');
  promptInput.value = (text ? `${text} ` : '') + chip.dataset.word;
  renderPromptUnknown();
});

/** Flags, as the user types, the words the model would read as unknown. */
function renderPromptUnknown() {
  const typed = words(promptInput.value);
  const unknown = state.knownWords ? [...new Set(typed.filter((w) => !state.knownWords.has(w)))] : [];
  setText($('prompt-unknown'), unknown.length ? `unknown: ${unknown.join(' ')}` : '');
  promptInput.classList.toggle('has-unknown', unknown.length > 0);
  const used = new Set(typed);
  for (const chip of $('chips').children) chip.classList.toggle('used', used.has(chip.dataset.word.toLowerCase()));
}

promptInput.addEventListener('input', renderPromptUnknown);

$('prompt-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = promptInput.value.trim().slice(0, 500);
  if (!text) return flashSent('type a prompt first');
  if (!send('/smitin/prompt', s(text))) return flashSent('not connected: not sent');
  state.sentPrompt = text;
  flashSent('sent: it plays from the next bar');
});

let sentTimer = 0;
function flashSent(msg) {
  setText($('prompt-sent'), msg);
  clearTimeout(sentTimer);
  sentTimer = setTimeout(() => setText($('prompt-sent'), ''), 8000);
}

function setPromptText(text) {
  setText($('prompt-current'), text || '-');
  $('prompt-now').title = text; // the whole prompt where a long one is cut to two lines
  if (state.sentPrompt && text === state.sentPrompt) {
    state.sentPrompt = '';
    setText($('prompt-sent'), '');
  }
}

function setPlayingUnknown(list) {
  const w = list.trim();
  setText($('prompt-playing-unknown'), w ? `unknown: ${w}` : '');
  $('prompt-playing-unknown').title = w;
}

// ---------- transport and recording ----------

const tempoInput = $('tempo');
const held = { tempo: 0, temperature: 0, guidance: 0 }; // performance.now() until which each follows the user

function setTransport(playing, bpm, sec) {
  state.playing = playing;
  const box = $('transport-state');
  box.dataset.playing = playing ? '1' : '0';
  setText($('state-word'), playing ? 'playing' : 'stopped');
  // the clock stays in the tooltip: musicians count bars (setPosition)
  $('engine-time').title = `engine time ${fmtTime(sec)}`;
  $('play').setAttribute('aria-pressed', String(playing));
  document.body.classList.toggle('playing', playing);
  if (Number.isFinite(bpm) && bpm > 0 && performance.now() > held.tempo) {
    const text = String(Math.round(bpm * 10) / 10);
    if (tempoInput.value !== text) tempoInput.value = text;
  }
}

/** Bar and beat as heard: "12.3". */
function setPosition(bar, beat) {
  if (Number.isFinite(bar) && Number.isFinite(beat)) setText($('engine-time'), `${bar}.${beat}`);
}

$('play').addEventListener('click', () => send('/smitin/play'));

// While the performer types a tempo the server's value must not overwrite the half-typed number.
tempoInput.addEventListener('input', () => { held.tempo = performance.now() + 3000; });
tempoInput.addEventListener('change', () => {
  const v = parseFloat(tempoInput.value);
  if (!Number.isFinite(v)) return;
  const bpm = clamp(v, num(parseFloat(tempoInput.min)) || 1, num(parseFloat(tempoInput.max)) || 999);
  tempoInput.value = String(bpm);
  held.tempo = performance.now() + HOLD_MS;
  send('/smitin/tempo', f32(bpm));
});

/**
 * Press-and-hold: fires after PRESS_AND_HOLD_MS with the fill animating; a shorter press only says to hold.
 * `active()` says whether the button is in its hold mode now (record is a plain click while not recording).
 */
function pressAndHold(btn, { active, fire, hint }) {
  let timer = 0;
  const start = () => {
    if (!state.connected || !active() || timer) return;
    btn.classList.add('holding');
    timer = setTimeout(() => {
      timer = 0;
      btn.classList.remove('holding');
      btn.classList.add('fired');
      setTimeout(() => btn.classList.remove('fired'), 350);
      fire();
    }, PRESS_AND_HOLD_MS);
  };
  const cancel = () => {
    if (!timer) return;
    clearTimeout(timer);
    timer = 0;
    btn.classList.remove('holding');
    showHoldHint(hint);
  };
  btn.addEventListener('pointerdown', (e) => e.button === 0 && start());
  for (const ev of ['pointerup', 'pointerleave', 'pointercancel', 'blur']) btn.addEventListener(ev, cancel);
  btn.addEventListener('keydown', (e) => {
    if ((e.key !== 'Enter' && e.key !== ' ') || !active()) return;
    e.preventDefault();
    if (!e.repeat) start();
  });
  btn.addEventListener('keyup', (e) => {
    if ((e.key !== 'Enter' && e.key !== ' ') || !active()) return;
    e.preventDefault();
    cancel();
  });
  btn.addEventListener('contextmenu', (e) => e.preventDefault()); // a long press must not open a menu
}

let hintTimer = 0;
function showHoldHint(text) {
  setText($('hold-hint'), text);
  clearTimeout(hintTimer);
  hintTimer = setTimeout(() => setText($('hold-hint'), ''), 1800);
}

pressAndHold($('stop'), { active: () => true, fire: () => send('/smitin/stop'), hint: 'hold to stop' });
pressAndHold($('record'), { active: () => state.recording, fire: () => send('/smitin/record', f32(0)), hint: 'hold to stop the take' });

// Record starts on a plain click, but only when the press began while not recording: a hold that just stopped
// a take ends in a click too, and must not start a new one.
let recordPressStarts = false;
for (const ev of ['pointerdown', 'keydown']) $('record').addEventListener(ev, () => { recordPressStarts = !state.recording; }, true);
$('record').addEventListener('click', () => {
  if (recordPressStarts) startRecording();
  recordPressStarts = false;
});

// a loop freezes the last bars from the next bar line; a knob or the prompt ends it too, so the button follows the engine
$('loop').addEventListener('click', toggleLoop);
function toggleLoop() {
  send('/smitin/loop', i32(state.looping > 0 ? 0 : state.loopBars));
}
function setLoop(looping, bars) {
  state.looping = Number.isFinite(looping) ? looping : 0;
  if (Number.isFinite(bars) && bars > 0) state.loopBars = bars;
  const btn = $('loop');
  btn.dataset.looping = state.looping > 0 ? '1' : '0';
  btn.setAttribute('aria-pressed', String(state.looping > 0));
  setText($('loop-label'), state.looping > 0 ? 'looping' : 'loop');
  const shown = state.looping > 0 ? state.looping : state.loopBars;
  setText($('loop-sub'), `${shown} ${shown === 1 ? 'bar' : 'bars'}`);
}
setLoop(0, state.loopBars);

let recordSentAt = -1e9;
function startRecording() {
  if (state.recording || performance.now() - recordSentAt < 1500) return; // one take per intent
  if (send('/smitin/record', f32(1))) recordSentAt = performance.now();
}

function setTake(recording, name, sec) {
  if (state.recording && !recording && state.liveTake) state.lastTake = state.liveTake;
  state.recording = recording;
  state.liveTake = recording ? { name, sec } : null;
  const btn = $('record');
  btn.dataset.recording = recording ? '1' : '0';
  btn.setAttribute('aria-label', recording ? 'Stop recording (press and hold)' : 'Start recording (r)');
  setText($('record-label'), recording ? 'stop take' : 'rec');
  setText($('record-sub'), recording ? 'hold' : '');
  document.body.classList.toggle('recording', recording);
  const take = $('take');
  setText(take, recording ? `${name || 'take'} ${fmtTime(sec)}` : 'not recording');
  take.classList.toggle('live', recording);
  // the take that just ended, apart from the live one: proof it was saved, and its name to find it after the gig
  const last = !recording && state.lastTake;
  setText($('take-last'), last ? `last: ${last.name} ${fmtTime(last.sec)}` : '');
}

// ---------- sampling, ranges, presets ----------

const sliders = {
  temperature: { input: $('temperature'), out: $('temperature-value'), digits: 2 },
  guidance: { input: $('guidance'), out: $('guidance-value'), digits: 1 },
};

for (const [name, sl] of Object.entries(sliders)) {
  sl.input.addEventListener('input', () => {
    const v = parseFloat(sl.input.value);
    held[name] = performance.now() + HOLD_MS;
    setText(sl.out, v.toFixed(sl.digits));
    sendLatest(`/smitin/${name}`, v);
  });
}

function setSampling(t, g) {
  for (const [name, v] of [['temperature', t], ['guidance', g]]) {
    const sl = sliders[name];
    if (!Number.isFinite(v) || performance.now() < held[name] || sl.input.matches(':active')) continue;
    sl.input.value = String(Number(v.toPrecision(6)));
    setText(sl.out, v.toFixed(sl.digits));
  }
}

function setRange(name, lo, hi) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) return;
  const input = name === 'tempo' ? tempoInput : sliders[name]?.input;
  if (!input) return;
  // the values come as float32 (0.05 arrives as 0.0500000007): six digits are what the server meant
  input.min = String(Number(lo.toPrecision(6)));
  input.max = String(Number(hi.toPrecision(6)));
}

function setPresetName(name) {
  setText($('preset-current'), name || '-');
  $('preset-current').title = name;
}

function setPresetNames(names) {
  const select = $('preset');
  select.replaceChildren(el('option', { value: '' }, names.length ? 'load a preset...' : 'no presets'),
    ...names.map((n) => el('option', { value: n }, n)));
  select.value = '';
}

// The picker is an action, not a state: after a load it returns to its placeholder; the preset in force
// is shown next to the title (its display name can differ from the file name picked here).
$('preset').addEventListener('change', (e) => {
  const name = e.target.value;
  if (name) send('/smitin/preset', s(name));
  e.target.value = '';
});

// ---------- status strip ----------

function setStatus([rt, ring, , underruns, latency]) {
  const realtime = $('stat-realtime');
  setText(realtime, Number.isFinite(rt) ? `${rt.toFixed(1)}x real time` : 'real time -');
  realtime.classList.toggle('bad', rt < 1);
  setText($('stat-ring'), Number.isFinite(ring) ? `${Math.round(ring)} ms` : '-');
  const under = $('stat-underruns');
  setText(under, Number.isFinite(underruns) ? String(underruns) : '-');
  under.classList.toggle('warn', underruns > 0);
  setText($('stat-latency'), Number.isFinite(latency) && latency >= 0 ? `${Math.round(latency)} ms` : '-');
}

/**
 * The status view's line for the deficit, word for word (src/cli/status-view.ts deficitLine; the web test checks
 * that they agree): the page has no build step and cannot import that TypeScript module.
 */
function deficitLine({ multiple, gapMs, latencyMs, reason }) {
  const why = reason === 'slow' ? `x${multiple.toFixed(2)} real time, needs x1` : `audio every ${gapMs.toFixed(0)} ms, ring ${latencyMs.toFixed(0)} ms`;
  return `CANNOT KEEP UP (checked at start): ${why}`;
}

/** Shows the check's deficit (--force) with all its figures, or hides it (null): dropouts are then the machine's, not the music's. */
function setDeficit(d) {
  const box = $('deficit');
  if (!d || !Number.isFinite(d.multiple)) {
    box.hidden = true;
    delete box.dataset.multiple;
    delete box.dataset.reason;
    return;
  }
  const ms = (v) => (Number.isFinite(v) && v >= 0 ? `${v.toFixed(0)} ms` : '- ms'); // -1: not measured
  box.dataset.multiple = d.multiple.toFixed(2);
  box.dataset.reason = d.reason;
  setText($('deficit-line'), deficitLine(d));
  setText($('deficit-detail'), `this machine runs the model at x${d.multiple.toFixed(2)} real time and writes audio every ${ms(d.gapMs)} into a ${ms(d.latencyMs)} ring: expect dropouts (played with --force)`);
  box.hidden = false;
}

function setLevel(db) {
  if (!Number.isFinite(db)) return;
  const level = $('level');
  level.dataset.value = db.toFixed(1);
  level.setAttribute('aria-valuenow', clamp(db, -60, 0).toFixed(1));
  level.style.setProperty('--v', clamp((db + 60) / 60, 0, 1).toFixed(3));
  level.classList.toggle('hot', db > -1);
  setText($('level-text'), db <= -119.5 ? '-inf dB' : `${Math.round(db)} dB`);
}

function setIssue(kind, n) {
  if (!Number.isFinite(n)) return;
  state.issues.set(kind, n);
  renderIssues();
}

function renderIssues() {
  const list = [...state.issues].filter(([, c]) => c > 0).sort(([a], [b]) => a.localeCompare(b));
  const out = $('stat-issues');
  setText(out, list.length ? list.map(([k, c]) => `${k} ${c}`).join(', ') : 'none');
  out.parentElement.title = out.textContent; // all of them where a long list is cut to one line
  out.classList.toggle('warn', list.length > 0);
}

// ---------- XY pad ----------

const xy = { x: '', y: '', dragging: false };
const pad = $('xy');

function buildXY() {
  const names = state.features;
  $('xy-panel').hidden = names.length < 2;
  document.body.classList.toggle('no-xy', names.length < 2); // the faders take the pad's room
  if (names.length < 2) return;
  if (!names.includes(xy.x)) xy.x = names[0];
  if (!names.includes(xy.y) || xy.y === xy.x) xy.y = names.find((n) => n !== xy.x);
  for (const id of ['xy-x', 'xy-y']) $(id).replaceChildren(...names.map((n) => el('option', { value: n }, n)));
  renderXYBinding();
}

function renderXYBinding() {
  $('xy-x').value = xy.x;
  $('xy-y').value = xy.y;
  setText($('xy-label-x'), `${xy.x} \u2192`);
  setText($('xy-label-y'), `${xy.y} \u2191`);
  renderXYDot();
}

/** Choosing on one axis the feature of the other swaps them, so the pad never drives one feature twice. */
function bindAxis(axis, name) {
  const other = axis === 'x' ? 'y' : 'x';
  if (xy[other] === name) xy[other] = xy[axis];
  xy[axis] = name;
  renderXYBinding();
}
$('xy-x').addEventListener('change', (e) => bindAxis('x', e.target.value));
$('xy-y').addEventListener('change', (e) => bindAxis('y', e.target.value));

// -1 and +1 sit this far inside the pad's edge, so the dot at full strength is whole and a finger can reach it
const XY_INSET_PX = 18;

function renderXYDot() {
  if (!xy.x || !xy.y) return;
  const dot = $('xy-dot');
  const at = (v) => `calc(${XY_INSET_PX}px + (100% - ${2 * XY_INSET_PX}px) * ${(v + 1) / 2})`;
  dot.style.left = at(feature(xy.x).shown);
  dot.style.top = at(-feature(xy.y).shown);
}

function xyFromPointer(e) {
  const r = pad.getBoundingClientRect();
  const snap = (v) => (Math.abs(v) < DETENT * 1.5 ? 0 : v);
  const along = (offset, size) => clamp(((offset - XY_INSET_PX) / (size - 2 * XY_INSET_PX)) * 2 - 1, -1, 1);
  userSet(feature(xy.x), snap(along(e.clientX - r.left, r.width)));
  userSet(feature(xy.y), snap(-along(e.clientY - r.top, r.height)));
}

function setXYDragging(on) {
  xy.dragging = on;
  pad.classList.toggle('active', on);
  for (const name of [xy.x, xy.y]) {
    const f = feature(name);
    f.dragging = on;
    if (!on) holdFor(f);
  }
}

pad.addEventListener('pointerdown', (e) => {
  if (!state.connected || (e.pointerType === 'mouse' && e.button !== 0)) return;
  e.preventDefault();
  pad.focus({ preventScroll: true });
  pad.setPointerCapture(e.pointerId);
  setXYDragging(true);
  xyFromPointer(e);
});
pad.addEventListener('pointermove', (e) => {
  if (xy.dragging && state.connected && pad.hasPointerCapture(e.pointerId)) xyFromPointer(e);
});
for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) {
  pad.addEventListener(ev, () => { if (xy.dragging) setXYDragging(false); });
}
pad.addEventListener('dblclick', () => {
  userSet(feature(xy.x), 0);
  userSet(feature(xy.y), 0);
});
pad.addEventListener('keydown', (e) => {
  const move = { ArrowLeft: ['x', -STEP], ArrowRight: ['x', STEP], ArrowDown: ['y', -STEP], ArrowUp: ['y', STEP] }[e.key];
  if (move) {
    const f = feature(xy[move[0]]);
    userSet(f, round2(f.shown + move[1]));
  } else if (e.key === '0') {
    userSet(feature(xy.x), 0);
    userSet(feature(xy.y), 0);
  } else return;
  e.preventDefault();
});

// ---------- page-wide shortcuts and help ----------

const isTextEntry = (t) => t instanceof HTMLElement &&
  (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' ||
    (t.tagName === 'INPUT' && !['range', 'button', 'checkbox', 'radio', 'submit'].includes(t.type)));

// Space plays from anywhere except text entry and the hold buttons (where it is the hold key). On any other
// focused button it must not also click it: a learn button clicked a minute ago would toggle again.
const spacePlays = (e) => !isTextEntry(e.target) && !(e.target instanceof Element && e.target.closest('.hold'));

document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  const help = $('help');
  if (!help.hidden) {
    if (e.key === 'Escape' || e.key === '?') {
      e.preventDefault();
      toggleHelp(false);
    }
    return;
  }
  if (isTextEntry(e.target)) {
    if (e.key === 'Escape') e.target.blur();
    return;
  }
  if (e.key === ' ') {
    if (!spacePlays(e)) return;
    e.preventDefault();
    if (!e.repeat) send('/smitin/play');
  } else if (e.key === '/') {
    e.preventDefault();
    promptInput.focus();
  } else if (e.key === 'r') {
    e.preventDefault();
    startRecording();
  } else if (e.key === 'l') {
    e.preventDefault();
    toggleLoop();
  } else if (e.key === '?') {
    e.preventDefault();
    toggleHelp(true);
  } else if (/^[1-9]$/.test(e.key)) {
    const fader = document.querySelectorAll('.fader')[Number(e.key) - 1];
    if (fader) {
      e.preventDefault();
      fader.focus();
    }
  }
});
document.addEventListener('keyup', (e) => {
  if (e.key === ' ' && spacePlays(e)) e.preventDefault();
});

let focusBeforeHelp = null;
function toggleHelp(open) {
  const help = $('help');
  if (open) {
    focusBeforeHelp = document.activeElement;
    help.hidden = false;
    $('help-close').focus();
  } else {
    help.hidden = true;
    if (focusBeforeHelp instanceof HTMLElement) focusBeforeHelp.focus();
  }
}
$('help-close').addEventListener('click', () => toggleHelp(false));
$('help').addEventListener('click', (e) => { if (e.target === e.currentTarget) toggleHelp(false); });
$('hint').addEventListener('click', () => toggleHelp(true));

// ---------- keeping a tablet awake and connected ----------

// A sleeping screen mid-gig is a lost performance; ask for a wake lock on the first touch (where supported).
let wakeLock = null; // the sentinel, or a promise of it while asking
function keepAwake() {
  if (wakeLock || !('wakeLock' in navigator) || document.visibilityState !== 'visible') return;
  wakeLock = navigator.wakeLock.request('screen').then((lock) => {
    lock.addEventListener('release', () => { wakeLock = null; });
    wakeLock = lock;
  }, () => {
    wakeLock = null; // refused (battery saver, no user gesture): the page works without it
  });
}
document.addEventListener('pointerdown', keepAwake, { passive: true });
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') {
    retryNow();
    if (wakeLock === null && state.everOpen) keepAwake();
  }
});
window.addEventListener('online', retryNow);

// ---------- start ----------

setConnected(false);
document.body.classList.remove('lost'); // first connection attempt: no "lost" banner yet
setText($('connection-text'), 'connecting...');
connect();
