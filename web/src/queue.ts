// The triage queue, most urgent first, kept current by the live events.

import { Status } from "./gen/kicer/v1/common_pb";
import type { QuestionEvent } from "./gen/kicer/v1/questions_pb";
import type { QueueEntry } from "./gen/kicer/v1/triage_pb";
import { explain, triage } from "./api";
import { h, replace } from "./dom";
import { age, date, num, percent } from "./format";
import { categoryName, causeName, causeOf, t } from "./i18n";
import { announce, type View } from "./view";

const PAGE = 100;

export function queueView(): View {
  const heading = h("h1", { id: "queue-title", tabindex: "-1" }, t.queueTitle);
  const count = h("p", { id: "queue-count", class: "muted", "aria-live": "polite" }, t.loading);
  const list = h("ol", { class: "queue", id: "queue", "aria-labelledby": "queue-title" });
  const error = h("div", { class: "message error", role: "alert", hidden: true });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, t.loadMore);
  const refresh = h("button", { type: "button", class: "secondary", id: "queue-refresh" }, t.refresh);
  let entries: QueueEntry[] = [];
  let next = "";
  let timer: number | undefined;

  async function load(reset: boolean): Promise<void> {
    try {
      const res = await triage.listQueue({ pageSize: PAGE, pageToken: reset ? "" : next });
      entries = reset ? res.entries : entries.concat(res.entries);
      next = res.nextPageToken;
      error.hidden = true;
      render();
    } catch (e) {
      error.textContent = explain(e);
      error.hidden = false;
    }
  }

  function render(): void {
    // Keep the keyboard where it was when the list is redrawn under it.
    const focused = (document.activeElement as HTMLElement | null)?.closest("li")?.dataset.id;
    replace(list, entries.map(row));
    count.textContent = entries.length ? t.queueCount(entries.length) : t.queueEmpty;
    more.hidden = !next;
    if (focused) list.querySelector<HTMLElement>(`li[data-id="${CSS.escape(focused)}"] a`)?.focus();
  }

  function reloadSoon(): void {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void load(true), 250);
  }

  more.addEventListener("click", () => void load(false));
  refresh.addEventListener("click", () => void load(true));
  void load(true);

  const el = h(
    "section",
    { class: "view queue-view", "aria-labelledby": "queue-title" },
    h("div", { class: "view-head" }, heading, refresh),
    h("p", null, t.queueIntro),
    count,
    error,
    list,
    more,
  );

  return {
    el,
    heading,
    onEvent(e: QuestionEvent) {
      const here = entries.some((x) => x.question?.id === e.questionId);
      if (here && e.toStatus !== Status.TRIAGE) {
        // Routed (or rejected…) by someone else: out at once, no reload.
        entries = entries.filter((x) => x.question?.id !== e.questionId);
        render();
        const to = e.providerId || e.expertId;
        const what = `${t.actionNames[e.action]}${to ? ` → ${to}` : ""}`;
        announce(t.leftQueue(e.questionId, e.onBehalfOf || e.actor, what));
      } else if (e.toStatus === Status.TRIAGE) {
        if (!here) announce(t.newInQueue(e.questionId));
        reloadSoon();
      }
    },
    onReconnect: reloadSoon,
  };
}

function row(entry: QueueEntry): HTMLElement {
  const q = entry.question!;
  const c = q.classification;
  const reason = entry.reason || q.triageReason;
  const cause = causeOf(entry.cause || q.triageCause);
  const submitted = date(q.submittedAt);
  const waited = submitted ? (Date.now() - submitted.getTime()) / 1000 : 0;
  return h(
    "li",
    { class: "queue-item", "data-id": q.id },
    h(
      "div",
      { class: "qi-head" },
      h("span", { class: "qid" }, q.id),
      h("a", { href: `#/q/${encodeURIComponent(q.id)}`, class: "qi-text" }, q.text),
    ),
    h(
      "dl",
      { class: "qi-meta" },
      pair(t.priority, num(entry.priority, 1)),
      pair(t.category, h("span", { class: "chip" }, categoryName(q.category))),
      pair(t.confidence, percent(c?.confidence ?? 0)),
      pair(
        t.why,
        h("span", { class: `cause cause-${cause}`, "data-cause": cause }, causeName(cause)),
        " ",
        h("span", { class: "reason" }, reason),
      ),
      pair(t.askedBy, `${q.organizationName} (${t.orgTypes[q.organizationType]})`),
      pair(t.submitted, `${t.waiting} ${age(waited)}`),
    ),
  );
}

function pair(term: string, ...value: (Node | string)[]): HTMLElement {
  return h("div", null, h("dt", null, term), h("dd", null, ...value));
}
