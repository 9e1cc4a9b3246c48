/**
 * runtime-download, add-url: what a build or a container fetches from the network. Neither container
 * has internet at run time (training runs with --network none, inference on an internal network), and
 * what a build downloads must not change from one build to the next.
 */
import type { RuleModule } from '../family.js';
import { FULL_COMMIT } from '../package-specs.js';
import { lineOf, type Instruction } from '../parse.js';
import { finding, type FindingDraft } from '../rules.js';

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;
const MODEL_FILE = /\.(safetensors|bin|gguf|ggml|pt|pth|ckpt|onnx|h5|msgpack|tflite)(\?|\s|$|["'])/i;
const PINNED_REVISION = /(--revision[=\s]+|revision\s*=\s*["'])[0-9a-f]{40}\b/i;

/** What in `text` downloads model weights (and where it starts), or null. */
export function weightDownload(text: string): { what: string; index: number } | null {
  const first = (re: RegExp, what: string) => {
    const m = re.exec(text);
    return m ? { what, index: m.index } : null;
  };
  const simple =
    first(/\b(huggingface-cli|hf)\s+download\b/, 'huggingface-cli download') ??
    first(/\bsnapshot_download\s*\(/, 'snapshot_download()') ??
    first(/\bhf_hub_download\s*\(/, 'hf_hub_download()');
  if (simple !== null) return simple;
  for (const m of text.matchAll(/\.from_pretrained\s*\(\s*(?:pretrained_model_name_or_path\s*=\s*)?(["'])([^"']+)\1/g)) {
    const id = m[2]!;
    if (!/^[./~]/.test(id) && !id.includes('$') && HUB_ID.test(id)) return { what: `from_pretrained("${id}")`, index: m.index };
  }
  for (const m of text.matchAll(/\b(wget|curl)\b([^;&|\n]*)/g)) {
    const rest = m[2]!;
    if (/huggingface\.co|hf\.co\//.test(rest) || MODEL_FILE.test(rest)) return { what: `${m[1]} of model files`, index: m.index };
  }
  return first(/\bgit\s+clone\b[^;&|\n]*huggingface\.co/, 'git clone of a huggingface.co repository');
}

function addSourceFindings(instruction: Instruction): FindingDraft[] {
  const words = (instruction.json ?? instruction.args.split(/\s+/)).filter((part) => !part.startsWith('--'));
  const sources = words.slice(0, -1);
  // --checksum itself is BuildKit-only (rules/buildkit.ts reports it); one finding per line is enough
  const checksummed = instruction.flags.some((flag) => flag.name === 'checksum');
  const findings: FindingDraft[] = [];
  for (const source of sources) {
    const isGit = /^git@/.test(source) || /^https?:\/\/\S+\.git(#\S*)?$/.test(source);
    if (isGit) {
      const ref = source.includes('#') ? source.slice(source.indexOf('#') + 1).split(':')[0]! : '';
      if (!FULL_COMMIT.test(ref)) {
        findings.push(
          finding('add-url', lineOf(instruction, source), {
            message: `ADD ${source} fetches a git repository at whatever commit the ref points to on build day`,
            fix: 'vendor the code into the submission, or git clone it in a RUN and git checkout a 40-hex commit there',
          }),
        );
      }
    } else if (/^https?:\/\//i.test(source) && !checksummed) {
      findings.push(
        finding('add-url', lineOf(instruction, source), {
          message: `ADD ${source} downloads at build time with no integrity check; the content can change or vanish`,
        }),
      );
    }
  }
  return findings;
}

export const downloadRules: RuleModule = {
  family: 'downloads',
  checkInstruction(instruction, context, report) {
    if (instruction.keyword === 'ADD') {
      for (const draft of addSourceFindings(instruction)) report(draft);
      return;
    }
    if (context.command === null) return;
    const { keyword } = instruction;
    const { script, lineAt } = context.command;
    const download = weightDownload(script);
    if (download === null) return;
    if (keyword !== 'RUN') {
      report(
        finding('runtime-download', lineAt(download.index), {
          message:
            `${keyword} fetches model weights at container start (${download.what}), but the ` +
            (context.role === 'training' ? 'training container runs with no network' : 'inference container has no internet (internal evaluation network)'),
          fix: 'download the weights in a RUN step at build time (pinned to a revision) or, for fine-tuned weights, load them from /artifacts',
        }),
      );
    } else if (!PINNED_REVISION.test(script)) {
      report(
        finding('runtime-download', lineAt(download.index), {
          message:
            `RUN downloads model weights (${download.what}) without a pinned revision: the image changes whenever the hub repository does` +
            (context.role === 'inference' ? ', and the inference container cannot fetch anything later' : ''),
          fix: 'pin a commit: huggingface-cli download <repo> --revision <40-hex sha> (or revision="<sha>" in Python)',
        }),
      );
    }
  },
};
