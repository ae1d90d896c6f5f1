// What every view of the page offers the shell: its element, and what it
// does with a live event or after the event stream reconnects.

import type { QuestionEvent } from "./gen/kicer/v1/questions_pb";

export interface View {
  el: HTMLElement;
  /** The heading focused when the view opens (keyboard and screen readers). */
  heading: HTMLElement;
  onEvent?(e: QuestionEvent): void;
  /** Events may have been missed while the stream was down. */
  onReconnect?(): void;
}

/** Says something to screen readers (and shows it in the status line). */
let clear: number | undefined;
export function announce(message: string): void {
  const el = document.getElementById("announcer");
  if (!el) return;
  el.textContent = message;
  // The bar sits over the foot of the page: it goes once it has been read.
  window.clearTimeout(clear);
  clear = window.setTimeout(() => (el.textContent = ""), 8000);
}
