import type { Problem, ProblemCode } from './bindings';

/**
 * What the UI can show for a failed call. Rust always rejects with a `Problem`; anything
 * else (a Tauri "command not found", a thrown exception in our own code) becomes
 * `unexpected`, so every error path renders the same way.
 */
export type UiProblem = Omit<Problem, 'code'> & { code: ProblemCode | 'unexpected' };

const PROBLEM_CODES: ReadonlySet<string> = new Set<ProblemCode>([
  'auth_failed',
  'unreachable',
  'timeout',
  'tls_failed',
  'start_tls_unavailable',
  'protocol_error',
  'server_unsupported',
  'server_refused',
  'connection_lost',
  'invalid_settings',
  'password_missing',
  'credential_store_failed',
  'message_unreadable',
  'message_too_large',
  'message_gone',
  'cache_failed',
  'file_failed',
  'not_found',
  'shutting_down',
]);

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && PROBLEM_CODES.has(v.code) && typeof v.message === 'string';
}

/** Turns whatever a rejected promise carried into something the UI can show. */
export function toProblem(error: unknown): UiProblem {
  if (isProblem(error)) {
    return { code: error.code, message: error.message, detail: error.detail ?? null };
  }
  if (typeof error === 'object' && error !== null && (error as UiProblem).code === 'unexpected') {
    return error as UiProblem;
  }
  const text = error instanceof Error ? error.message : String(error);
  return { code: 'unexpected', message: text, detail: text };
}
