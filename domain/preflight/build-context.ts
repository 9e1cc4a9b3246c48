/**
 * Where a path used inside the image came from in the build context: a RUN that installs from
 * /app/requirements.txt reads the file an earlier COPY put there, and the preflight lints that file.
 */
import path from 'node:path';

/** A COPY / ADD of build-context sources to a destination inside the image (or a RUN bind mount). */
export interface CopyMapping {
  sources: string[];
  destination: string;
}

/** `p` resolved against the directory `base` inside the image. */
export const posixJoin = (base: string, p: string): string => path.posix.normalize(p.startsWith('/') ? p : path.posix.join(base, p));

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
}

/**
 * Candidate context paths for a path used inside the image: traced back through the RUN's bind mounts
 * and the stage's COPY / ADD instructions (latest first), then the path itself when relative, then its
 * file name. Paths that climb out of the context are dropped.
 */
export function contextCandidates(imagePath: string, workdir: string, copies: readonly CopyMapping[], mounts: readonly CopyMapping[]): string[] {
  const absolute = posixJoin(workdir, imagePath);
  const candidates: string[] = [];
  for (const mapping of [...mounts, ...[...copies].reverse()]) {
    const destination = mapping.destination.replace(/\/+$/, '') || '/';
    for (const source of mapping.sources) {
      const src = source.replace(/^\.\//, '').replace(/\/+$/, '');
      if (absolute === destination && mapping.sources.length === 1 && !mapping.destination.endsWith('/')) candidates.push(src);
      const prefix = destination === '/' ? '/' : `${destination}/`;
      if (absolute.startsWith(prefix)) {
        const rest = absolute.slice(prefix.length);
        if (src === '.' || src === '') candidates.push(rest);
        else if (src.includes('*') || src.includes('?')) {
          if (!rest.includes('/') && globToRegExp(path.posix.basename(src)).test(rest)) candidates.push(path.posix.join(path.posix.dirname(src), rest));
        } else if (path.posix.basename(src) === rest) candidates.push(src);
        else candidates.push(path.posix.join(src, rest)); // a copied directory
      }
    }
  }
  if (!imagePath.startsWith('/')) candidates.push(path.posix.normalize(imagePath));
  candidates.push(path.posix.basename(imagePath));
  return [...new Set(candidates.filter((c) => c !== '' && !c.startsWith('..')))];
}
