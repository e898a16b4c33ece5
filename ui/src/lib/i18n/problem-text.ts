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

/** The short form that follows "Offline — " in the status bar. */
export function offlineReason(problem: UiProblem): string {
  return locale.m.offlineReason[problem.code];
}
