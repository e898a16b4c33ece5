import type { View } from './bindings';
import type { IconName } from '../components/shared/Icon.svelte';

/**
 * The sidebar's views in display order, with their shortcuts. The sidebar, the key
 * bindings and the shortcut overlay all read this one list.
 */
export interface ViewEntry {
  id: View;
  /** Second key of the `g` sequence: `g u` for Unassigned. */
  goKey: string;
  /** A digit that switches straight to the view. */
  digit: string;
  icon: IconName;
}

// Ordered the way work flows: from nobody's, to mine, to the team's, to parked and finished.
export const VIEWS: readonly ViewEntry[] = [
  { id: 'unassigned', goKey: 'u', digit: '1', icon: 'inbox' },
  { id: 'mine', goKey: 'm', digit: '2', icon: 'user' },
  { id: 'team', goKey: 't', digit: '3', icon: 'users' },
  { id: 'waiting', goKey: 'w', digit: '4', icon: 'clock' },
  { id: 'done', goKey: 'd', digit: '5', icon: 'checkCircle' },
  { id: 'all', goKey: 'a', digit: '6', icon: 'layers' },
  { id: 'sent', goKey: 's', digit: '7', icon: 'send' },
];

/** The view the app opens on: what still needs someone. */
export const START_VIEW: View = 'unassigned';
