/** base-image-untagged, base-image-latest, base-image-variable: a FROM must name an image that does not move. */
import type { RuleModule } from '../family.js';
import { finding } from '../rules.js';

/** Expands $NAME / ${NAME} / ${NAME:-default} with the ARG defaults FROM can see; unknown names stay. */
function expandArgs(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const value = args.get(braced ?? bare ?? '');
      if (value !== undefined && value !== '') return value;
      return fallback ?? whole;
    },
  );
}

export const baseImageRules: RuleModule = {
  family: 'base-image',
  checkInstruction(instruction, context, report) {
    if (instruction.from === null) return;
    // expanded here, not by dockerfile-ast, whose image parts are those of the text as written
    const image = expandArgs(instruction.from.image, context.globalArgs);
    if (image.toLowerCase() === 'scratch' || context.stageNames.has(image.toLowerCase())) return;
    const line = instruction.line;
    if (image.includes('$')) {
      report(
        finding('base-image-variable', line, {
          message: `FROM ${image}: the image comes from a build argument without a default, so its tag cannot be checked`,
        }),
      );
      return;
    }
    const [name = '', digest] = image.split('@');
    if (digest !== undefined && digest !== '') return;
    const lastSegment = name.slice(name.lastIndexOf('/') + 1); // a registry port (localhost:5000/…) is no tag
    const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : null;
    if (tag === null) {
      report(
        finding('base-image-untagged', line, {
          message: `FROM ${image} has no tag or digest, so it means ${image}:latest, whatever that is on build day`,
          fix: `name an exact tag or digest, e.g. FROM ${image}:<version> or FROM ${image}@sha256:<digest>`,
        }),
      );
    } else if (tag === 'latest') {
      report(
        finding('base-image-latest', line, {
          message: `FROM ${image}: "latest" moves; the build is not reproducible`,
          fix: `use an exact tag or a digest, e.g. FROM ${name}@sha256:<digest>`,
        }),
      );
    }
  },
};
