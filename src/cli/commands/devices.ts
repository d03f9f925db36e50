/** smitin devices: PortAudio outputs and MIDI ports, probed in a child process (see device-probe.ts). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { DeviceReport } from '../device-probe.js';

export function probeDevices(): DeviceReport {
  const script = fileURLToPath(new URL('../device-probe.js', import.meta.url));
  const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
  if (child.status === 0) {
    try {
      return JSON.parse(child.stdout) as DeviceReport;
    } catch {
      /* fall through: report the probe as failed */
    }
  }
  const why = child.error?.message ?? (child.signal ? `killed by ${child.signal}` : `exit code ${child.status}`);
  const reason = `device probe failed (${why})`;
  return { audio: { available: false, outputs: [], reason }, midi: { available: false, inputs: [], outputs: [], reason } };
}

export function formatDevices(report: DeviceReport): string {
  const lines: string[] = [];
  if (!report.audio.available) lines.push(`Audio: unavailable: ${report.audio.reason}`);
  else if (report.audio.outputs.length === 0) lines.push('Audio: no PortAudio output devices (no sound card and no ALSA PCM defined)');
  else {
    lines.push('Audio outputs (PortAudio):');
    lines.push('  id  name                                 host API  channels  default rate');
    for (const d of report.audio.outputs) {
      lines.push(`  ${String(d.id).padStart(2)}  ${d.name.padEnd(36).slice(0, 36)} ${d.hostApi.padEnd(9)} ${String(d.maxOutputChannels).padStart(8)}  ${d.defaultSampleRate} Hz`);
    }
  }
  const { midi } = report;
  if (!midi.available) lines.push(`MIDI: unavailable: ${midi.reason}`);
  else {
    lines.push(`MIDI inputs: ${midi.inputs.length ? midi.inputs.join(', ') : '(none)'}`);
    lines.push(`MIDI outputs: ${midi.outputs.length ? midi.outputs.join(', ') : '(none)'}`);
  }
  return lines.join('\n');
}

export function devicesCommand(): Command {
  return new Command('devices')
    .description('list PortAudio output devices and MIDI ports')
    .option('--json', 'print one JSON object instead of a table')
    .action((opts: { json?: boolean }) => {
      const report = probeDevices();
      process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : formatDevices(report)) + '\n');
    });
}
