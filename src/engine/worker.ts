/**
 * The generation worker's entry point: onnxruntime runs inference on the
 * thread that calls it and blocks it for the whole step, so the model, SMITIN
 * and the codec live here and the main thread stays free for MIDI, OSC, the
 * terminal and the audio device.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadLiveModel } from './live-model.js';
import { measureKeepUp } from './keep-up-timing.js';
import { ControlBlock } from './control-block.js';
import { GenerationLoop } from './generation-loop.js';
import type { ToMain, ToWorker, WorkerInit } from './worker-protocol.js';
import { StereoRing } from './ring.js';

if (!parentPort) throw new Error('engine/worker.ts runs as a worker thread (new Worker), not on its own');
const port = parentPort;

const send = (m: ToMain): void => port.postMessage(m);

async function start(init: WorkerInit): Promise<void> {
  const { model, probes } = await loadLiveModel(init.modelDir, init.probesFile, init.load);
  const ring = new StereoRing(init.ring);
  const controls = new ControlBlock(init.controls, init.features);
  // messages wait here until the loop exists: play (or shutdown) comes after the main side has seen the check
  const queued: ToWorker[] = [];
  let deliver = (m: ToWorker) => void queued.push(m);
  let go: (m: ToWorker) => void = () => {};
  const started = new Promise<ToWorker>((resolve) => (go = resolve));
  port.on('message', (m: ToWorker) => (m.type === 'play' || m.type === 'shutdown' ? go(m) : deliver(m)));
  const { settings } = init;
  const keepUp = init.check
    ? await measureKeepUp(model, {
        prompt: settings.prompt,
        tempo: settings.tempo,
        sampleRate: settings.sampleRate,
        guidance: controls.guidance(),
        temperature: controls.temperature(),
        ...(settings.sampling ?? { topK: model.spec.generation.topK, topP: model.spec.generation.topP }),
        seed: settings.seed,
        probes,
        steering: settings.steering,
        effort: init.check,
      })
    : null;
  send({ type: 'loaded', loaded: { decoder: model.decoder.path, ep: model.decoder.ep, threads: model.threads ?? null }, keepUp });
  if ((await started).type === 'shutdown') {
    await model.release();
    send({ type: 'closed' });
    return;
  }
  const loop = await GenerationLoop.create(model, ring, controls, probes, settings, send);
  deliver = (m) => {
    if (m.type === 'command') loop.handle(m.command);
    else if (m.type === 'alphas') loop.setAlphas(m.alphas);
  };
  queued.splice(0).forEach(deliver);
  go = (m) => m.type === 'shutdown' && loop.shutdown();
  send({ type: 'ready', model: model.spec.dir, codec: model.spec.codec.kind, maxFrames: model.spec.maxFrames });
  await loop.run();
  await model.release();
  send({ type: 'closed' });
}

start(workerData as WorkerInit).catch((err: Error) => send({ type: 'error', message: err.message }));
