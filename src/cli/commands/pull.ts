/** smitin pull: a MusicGen export from the Hugging Face Hub into the shared cache, only the files a dtype needs. */
import { Command, Option } from 'commander';
import { formatDtypes, type GraphDtypes } from '../../model/musicgen/dtype.js';
import { formatHubId, requireHubId } from '../../hub/hub-id.js';
import { pullModel } from '../../hub/pull.js';
import { hubSettings } from '../../hub/settings.js';
import { DTYPE_HELP, dtypeOption } from '../options.js';
import { pullProgress } from '../pull-progress.js';

interface PullCliOptions {
  dtype: GraphDtypes;
  json?: boolean;
}

export function pullCommand(): Command {
  return new Command('pull')
    .description(
      'download a MusicGen ONNX export from the Hugging Face Hub (e.g. Xenova/musicgen-small) into the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub, shared with Python); ' +
        'only the files the dtype needs; resumes, checks every file against the hub\'s checksums; HF_TOKEN for gated models; HF_HUB_OFFLINE=1 checks the cache only',
    )
    .argument('<model>', 'hub id: owner/name or owner/name@revision (a branch, tag or commit)')
    .addOption(new Option('--dtype <type>', `${DTYPE_HELP}; transformers.js runs MusicGen with decoder=q8 and an fp32 EnCodec`).argParser(dtypeOption).default(dtypeOption('fp32'), 'fp32'))
    .option('--json', 'print the result as JSON (folder, commit, files, bytes fetched)')
    .action(async (model: string, opts: PullCliOptions) => {
      const id = requireHubId(model);
      const progress = pullProgress(`pulling ${formatHubId(id)}`);
      let result;
      try {
        result = await pullModel(id, { dtypes: opts.dtype, ...progress });
      } finally {
        progress.stop();
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...result, cache: hubSettings().cacheDir })}\n`);
        return;
      }
      const dtype = formatDtypes(opts.dtype);
      const fetched = result.files.filter((f) => f.fetched).length;
      const resumed = result.files.filter((f) => f.resumedFrom > 0).length;
      const how = result.offline
        ? `in the cache (${result.offline}; not checked against the hub)`
        : `${result.files.length} files, ${(result.bytes / 1e6).toFixed(1)} MB; fetched ${fetched} (${(result.transferred / 1e6).toFixed(1)} MB${resumed ? `, ${resumed} resumed` : ''}${result.refused ? `, ${result.refused} refused and fetched again` : ''}), ${result.files.length - fetched} already cached`;
      const args = `--model ${formatHubId(id)}${dtype === 'fp32' ? '' : ` --dtype ${dtype}`}`;
      process.stdout.write(
        `${formatHubId(id)} at commit ${result.commit.slice(0, 12)}, --dtype ${dtype}: ${how}\n  ${result.folder}\n` +
          `next: smitin check ${args} (can this machine play it live?), then smitin live ${args}\n`,
      );
    });
}
