/** A few lines of DOM building instead of a framework: elements with attributes and children, text always as text. */

type Child = Node | string | number | false | null | undefined
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>

/** `<tag attrs…>children</tag>`: `on…` attributes are listeners, `false`/`undefined` ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value)
    else if (value === true) el.setAttribute(name, '')
    else if (value !== false && value !== undefined) el.setAttribute(name, String(value))
  }
  el.append(...children.filter((c): c is Node | string | number => c !== false && c !== null && c !== undefined).map((c) => typeof c === 'number' ? String(c) : c))
  return el
}

/** The element with `id`; the page's markup guarantees it exists. */
export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  return document.getElementById(id) as T
}

/** Replaces `parent`'s children. */
export function fill (parent: Element, ...children: Node[]): void {
  parent.replaceChildren(...children)
}

/** The first control in `root` a keyboard user can reach. */
export function firstFocusable (root: ParentNode): HTMLElement | null {
  return root.querySelector<HTMLElement>('button:not([disabled]), input:not([disabled]), select:not([disabled]), a[href], [tabindex="0"]')
}
