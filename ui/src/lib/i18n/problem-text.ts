import type { UiProblem } from '../problem';
import type { ServerRef } from './en';
import { locale } from './locale.svelte';

/** Plain words for a problem, in the current language; never the engine's English. */
export function problemText(problem: UiProblem, server: ServerRef = null): string {
  return locale.m.problem[problem.code](server);
}

/** The short form that follows "Offline — " in the status bar. */
export function offlineReason(problem: UiProblem): string {
  return locale.m.offlineReason[problem.code];
}
