/**
 * Building the page: every element is made with the DOM API, never innerHTML,
 * so text from the bucket (run reasons, column names, log lines) can never
 * become markup.
 */

const SVG = "http://www.w3.org/2000/svg";

/** What an element may contain: nodes, text, and nested lists of them; null, undefined and false are left out. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** An event listener given as an `on...` attribute (`onclick`, `onsubmit`). */
export type Listener = (event: Event) => unknown;

/** Attributes: null, undefined and false leave the attribute out, true sets it empty. */
export type Attrs = Record<string, string | number | boolean | null | undefined | Listener>;

/** Append children to an element, flattening lists and turning values into text. */
export function append(el: ParentNode, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child as readonly Child[]);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Build an HTML element: h("a", {href: "#"}, "text", child). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      if (!key.startsWith("on")) throw new Error(`a listener needs an on... attribute, not ${key}`);
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") el.className = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Build an SVG element: s("rect", {x: 0, width: 10}). */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | null | undefined> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** An element index.html must have; a missing one is a broken page, said as such. */
export function pageElement(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the console page has no #${id} element`);
  return el;
}
