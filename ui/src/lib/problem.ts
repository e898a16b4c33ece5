import type { Problem, ProblemCode } from './bindings';

/**
 * What the UI can show for a failed call. Rust always rejects with a `Problem`; anything
 * else (a Tauri "command not found", a thrown exception in our own code) becomes
 * `unexpected`, so every error path renders the same way.
 */
export type UiProblem = Omit<Problem, 'code'> & { code: ProblemCode | 'unexpected' };

// A record rather than a list, so a code added in Rust is a type error here until it is added.
const KNOWN_CODES: Record<ProblemCode, true> = {
  auth_failed: true,
  unreachable: true,
  timeout: true,
  tls_failed: true,
  start_tls_unavailable: true,
  protocol_error: true,
  server_unsupported: true,
  server_refused: true,
  connection_lost: true,
  invalid_settings: true,
  password_missing: true,
  credential_store_failed: true,
  message_unreadable: true,
  message_too_large: true,
  message_gone: true,
  cache_failed: true,
  file_failed: true,
  not_found: true,
  shutting_down: true,
  link_refused: true,
  claim_conflict: true,
  not_holder: true,
  invalid_member: true,
  team_state_unavailable: true,
  invalid_recipient: true,
  no_recipients: true,
  too_late_to_undo: true,
};
const PROBLEM_CODES: ReadonlySet<string> = new Set(Object.keys(KNOWN_CODES));

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && PROBLEM_CODES.has(v.code) && typeof v.message === 'string';
}

/** Turns whatever a rejected promise carried into something the UI can show. */
export function toProblem(error: unknown): UiProblem {
  if (isProblem(error)) {
    return {
      code: error.code,
      message: error.message,
      detail: error.detail ?? null,
      holder: error.holder ?? null,
      held_since: error.held_since ?? null,
    };
  }
  if (typeof error === 'object' && error !== null && (error as UiProblem).code === 'unexpected') {
    return error as UiProblem;
  }
  const text = error instanceof Error ? error.message : String(error);
  return { code: 'unexpected', message: text, detail: text, holder: null, held_since: null };
}
