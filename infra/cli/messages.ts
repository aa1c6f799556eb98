// The lines the CLI puts on tests (DESIGN §3.8: one line of at most 140
// characters, as shared/domain/messages.ts writes them).
import { fitStatusLine } from '../../shared/domain/messages';

/** The final line of a test an operator canceled. */
export function canceledByOperator(who: string): string {
  const name = who.replace(/\s+/g, ' ').trim() || 'unknown';
  // The name is cut first, so the wording always survives.
  const room = 140 - 'Canceled by an operator ()'.length;
  const shown = name.length > room ? `${name.slice(0, room - 1)}…` : name;
  return fitStatusLine(`Canceled by an operator (${shown})`);
}
