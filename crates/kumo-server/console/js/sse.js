// Server-Sent Events read with fetch. EventSource cannot send an Authorization header and the
// log stream needs the admin token, so the console reads the body itself and parses the
// frames as the SSE format defines them (fields per line, a blank line ends an event, lines
// starting with ':' are comments).

// A frame that grows past this without ending is not a log record: the reader gives up rather
// than hold an unbounded buffer.
const MAX_FRAME_CHARS = 4 * 1024 * 1024;

/** Splits text into SSE events; push() chunks in, each finished event goes to onEvent. */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.id = null;
    this.event = 'message';
    this.data = [];
    this.size = 0;
  }

  push(text) {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/g;
      match.lastIndex = start;
      const found = match.exec(this.buffer);
      // A lone '\r' at the end may be the first half of '\r\n': wait for the next chunk.
      if (!found || (found[0] === '\r' && found.index === this.buffer.length - 1)) break;
      this.line(this.buffer.slice(start, found.index));
      start = found.index + found[0].length;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.size > MAX_FRAME_CHARS) throw new Error('an event stream frame is too large');
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ id: this.id, event: this.event, data: this.data.join('\n') });
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.size += value.length;
    if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    else if (field === 'event') this.event = value;
  }
}

/**
 * Reads `response.body` (a fetch Response of a text/event-stream) until it ends or `signal`
 * aborts, calling onEvent for each event. Resolves when the stream ends.
 */
export async function readEvents(response, onEvent, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser(onEvent);
  const stop = () => reader.cancel().catch(() => {});
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) return;
      parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
