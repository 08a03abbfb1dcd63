// Server code shown with line numbers, optionally with a verification error marked at its
// line and column. Every line is a text node: code is tenant data, never markup.

import { el } from './dom.js';

/**
 * A source listing. `mark`, if given, is { line, column, message } (1-based, as the server's
 * SERVER_CODE_VERIFICATION_ERROR reports them); that line is highlighted and a caret under
 * its column carries the message.
 */
export function sourceView(text, mark) {
  const lines = String(text).split(/\r\n|\r|\n/);
  // A file's final line break ends its last line; it does not start another.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const box = el('div', { class: 'source', 'data-test': 'source' });
  lines.forEach((line, i) => {
    const number = i + 1;
    const isMarked = mark && mark.line === number;
    box.append(
      el('div', { class: isMarked ? 'line error-line' : 'line', 'data-line': number },
        el('span', { class: 'ln' }, String(number)),
        el('span', { class: 'code' }, line)),
    );
    if (isMarked) box.append(marker(line, mark));
  });
  if (mark && !(mark.line >= 1 && mark.line <= lines.length)) {
    // A position past the end (an unexpected end of input) still gets its message shown.
    box.append(marker('', { column: 1, message: mark.message }));
  }
  return box;
}

function marker(line, mark) {
  // Keep the line's tabs so the caret lands under the column whatever the tab width.
  const column = Math.max(1, Math.min(Number(mark.column) || 1, line.length + 1));
  const pad = Array.from(line.slice(0, column - 1), (c) => (c === '\t' ? '\t' : ' ')).join('');
  return el('div', { class: 'marker', 'data-test': 'error-marker' },
    el('span', { class: 'ln' }, ''),
    el('span', { class: 'code' }, `${pad}^ ${mark.message || ''}`));
}

/** Brings the marked line into view once the listing is in the document. */
export function scrollToMark(box) {
  const marked = box.querySelector('.error-line');
  if (marked) marked.scrollIntoView({ block: 'center' });
}
