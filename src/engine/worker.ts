/**
 * The generation worker's entry point: onnxruntime runs inference on the
 * thread that calls it and blocks it for the whole step, so the model, SMITIN
 * and the codec live here and the main thread stays free for MIDI, OSC, the
 * terminal and the audio device.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel } from '../model/musicgen/index.js';
import { loadSteerableModel } from '../smitin/prepare.js';
import { checkProbesFit, modelIdentity, readProbeSet } from '../smitin/probe-set.js';
import { ControlBlock } from './control-block.js';
import { GenerationLoop } from './generation-loop.js';
import type { ToMain, ToWorker, WorkerInit } from './worker-protocol.js';
import { StereoRing } from './ring.js';

if (!parentPort) throw new Error('engine/worker.ts runs as a worker thread (new Worker), not on its own');
const port = parentPort;

const send = (m: ToMain): void => port.postMessage(m);

async function start(init: WorkerInit): Promise<void> {
  const model = init.probesFile ? await loadSteerableModel(init.modelDir, { threads: init.threads }) : await loadModel(init.modelDir, { threads: init.threads });
  const probes = init.probesFile ? readProbeSet(init.probesFile) : null;
  if (probes) checkProbesFit(probes, modelIdentity(model.spec), init.probesFile!);
  const ring = new StereoRing(init.ring);
  const controls = new ControlBlock(init.controls, init.features);
  const loop = await GenerationLoop.create(model, ring, controls, probes, init.settings, send);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'command') loop.handle(m.command);
    else if (m.type === 'alphas') loop.setAlphas(m.alphas);
    else if (m.type === 'shutdown') loop.shutdown();
  });
  send({ type: 'ready', model: model.spec.dir, codec: model.spec.codec.kind, maxFrames: model.spec.maxFrames });
  await loop.run();
  await model.release();
  send({ type: 'closed' });
}

start(workerData as WorkerInit).catch((err: Error) => send({ type: 'error', message: err.message }));
