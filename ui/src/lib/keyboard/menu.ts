/**
 * Keys inside a popup menu (WAI-ARIA menu button pattern): arrows and Home/End move
 * between `items`, Escape closes and returns focus to the button, Tab closes and lets
 * focus move on. The menu owns its keys: shortcuts behind it must not fire.
 */
export function menuKey(event: KeyboardEvent, items: HTMLElement[], hide: (refocus?: boolean) => void) {
  event.stopPropagation();
  const at = items.indexOf(document.activeElement as HTMLElement);
  if (event.key === 'Escape') {
    event.preventDefault();
    hide();
  } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const step = event.key === 'ArrowDown' ? 1 : -1;
    items[(at + step + items.length) % items.length]?.focus();
  } else if (event.key === 'Home' || event.key === 'End') {
    event.preventDefault();
    (event.key === 'Home' ? items[0] : items.at(-1))?.focus();
  } else if (event.key === 'Tab') {
    hide(false);
  }
}
