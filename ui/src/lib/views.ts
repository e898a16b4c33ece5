import type { View } from './bindings';

/**
 * The sidebar's views in display order, with their shortcuts. More views (mine,
 * unassigned, done, …) are added here; the sidebar, the key bindings and the shortcut
 * overlay all read this one list.
 */
export interface ViewEntry {
  id: View;
  /** Second key of the `g` sequence: `g i` for the inbox. */
  goKey: string;
  /** A digit that switches straight to the view. */
  digit: string;
  icon: 'inbox' | 'send';
}

export const VIEWS: readonly ViewEntry[] = [
  { id: 'inbox', goKey: 'i', digit: '1', icon: 'inbox' },
  { id: 'sent', goKey: 's', digit: '2', icon: 'send' },
];
