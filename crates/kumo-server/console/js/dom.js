// Building DOM nodes. Text always goes in as text nodes (`append` with strings), never as
// markup: everything the console shows may come from a tenant.

/**
 * el('tag', {class, id, on<event>: fn, <attribute>: value}, ...children). Children are nodes
 * or strings (inserted as text); null and false are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (key === 'value' || key === 'checked') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Local time and UTC of epoch milliseconds, e.g. for a title attribute. */
export function formatTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return { local: '', utc: '' };
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  const local = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return { local, utc: d.toISOString() };
}

/** JSON for display: pretty, and never throws. */
export function prettyJson(value) {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** An error box with `text` (shown as text). */
export function errorBox(text) {
  return el('div', { class: 'error', role: 'alert' }, text);
}
