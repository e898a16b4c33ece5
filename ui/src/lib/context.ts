import { getContext, setContext } from 'svelte';
import type { Workspace } from './state/workspace.svelte';

// Typed wrappers, so a component cannot ask for the workspace under the wrong key or type.
const WORKSPACE = Symbol('workspace');
const FRAME_KEYS = Symbol('frame-keys');

export function provideWorkspace(workspace: Workspace) {
  setContext(WORKSPACE, workspace);
}

export function useWorkspace(): Workspace {
  const workspace = getContext<Workspace | undefined>(WORKSPACE);
  if (!workspace) throw new Error('useWorkspace() outside MainView');
  return workspace;
}

/**
 * Key presses inside a mail frame never reach the window, so the frame hands them to
 * this callback and shortcuts keep working while a message has focus.
 */
export type FrameKeyHandler = (event: KeyboardEvent) => void;

export function provideFrameKeys(handler: FrameKeyHandler) {
  setContext(FRAME_KEYS, handler);
}

export function useFrameKeys(): FrameKeyHandler {
  return getContext<FrameKeyHandler | undefined>(FRAME_KEYS) ?? (() => {});
}
