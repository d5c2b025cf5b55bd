/** A tiny element builder: no framework, no innerHTML (text is always text, never markup). */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

/**
 * Sets a list's items, keeping every existing element whose markup did not change: a re-render
 * on each live event must not swap a row from under the pointer (or a test's click).
 */
export function reconcile(list: Element, items: HTMLElement[]): void {
  const old = new Map<string, Element>();
  for (const el of Array.from(list.children)) old.set(el.outerHTML, el);
  const next = items.map((item) => {
    const same = old.get(item.outerHTML);
    if (same) old.delete(item.outerHTML);
    return same ?? item;
  });
  if (next.length === list.children.length && next.every((el, i) => list.children[i] === el)) return;
  list.replaceChildren(...next);
}
