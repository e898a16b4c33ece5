import type { UiProblem } from '../problem';
import type { ServerRef } from './en';
import { locale } from './locale.svelte';

/** Plain words for a problem, in the current language; never the engine's English. */
export function problemText(problem: UiProblem, server: ServerRef = null, now = Date.now()): string {
  // A lost claim race names the winner, so the user knows whom to talk to.
  if (problem.code === 'claim_conflict' && problem.holder) {
    return problem.held_since !== null
      ? locale.m.team.claimedBy(problem.holder, locale.elapsed(problem.held_since, now))
      : locale.m.team.holds(problem.holder);
  }
  return locale.m.problem[problem.code](server);
}

/**
 * A problem met while attaching files, where some codes mean something narrower than in
 * general: `file_failed` is a file that could not be read or copied, and after a drop
 * `not_found` is a drop the shell no longer had.
 */
export function attachProblemText(problem: UiProblem, dropped: boolean): string {
  const words = locale.m.compose.attachProblem;
  if (problem.code === 'file_failed') return words.fileFailed;
  if (problem.code === 'message_too_large') return words.tooLarge;
  if (dropped && problem.code === 'not_found') return words.nothingDropped;
  return problemText(problem);
}

/** The short form that follows "Offline — " in the status bar. */
export function offlineReason(problem: UiProblem): string {
  return locale.m.offlineReason[problem.code];
}
