// updateJob's merge: PATCH /v1/{name}?updateMask=a,b.c replaces the masked
// fields (removing those the body leaves out); without a mask, every field the
// body gives.
import { OUTPUT_ONLY, type JobJson } from './job';

/** The job after a PATCH: the fields in `mask` (or, without one, all given fields) replaced. */
export function patchedInput(
  existing: JobJson,
  patch: Record<string, unknown>,
  mask: string[] | undefined,
): Record<string, unknown> {
  const merged = structuredClone(existing) as unknown as Record<string, unknown>;
  const camel = (s: string): string => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  const paths =
    mask?.map((p) => camel(p).split('.')) ??
    Object.keys(patch)
      .filter((k) => !OUTPUT_ONLY.includes(k) && k !== 'name')
      .map((k) => [k]);
  for (const path of paths) {
    let from: unknown = patch;
    let to = merged;
    path.forEach((part, i) => {
      from = (from as Record<string, unknown> | undefined)?.[part];
      if (i === path.length - 1) {
        if (from === undefined) delete to[part];
        else to[part] = structuredClone(from);
      } else {
        to[part] = { ...((to[part] as object | undefined) ?? {}) };
        to = to[part] as Record<string, unknown>;
      }
    });
  }
  return merged;
}
